// Secrets never echo: a PagerDuty receiver that answers 400 with the request body in
// its answer (routing key included) must not make the node store, log or serve the
// key. Checked against a real `wdmesh run`: its log, wdmesh.db and its WAL, GET
// /v1/events and /v1/deliveries, `wdmesh events --json`, and the answer to
// POST /v1/alerts/pd/test. The same for a probe whose output prints the key. Every
// place keeps the rest of the text, with "***".
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { cli, spawnCli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";

const ROUTING_KEY = "R0UT1NG-KEY-do-not-leak-7f3a";
const API_TOKEN = "api-token-redaction-0123456789";

void test("a receiver echoing the routing key in a 400: the key is in no log, file or answer of the node", async (t) => {
  const dir = tempDir(t, "wdm-redact-");
  const dataDir = join(dir, "state");
  const received: string[] = [];
  // An unhelpful receiver: rejects every event and echoes what it was sent.
  const receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      received.push(body);
      res.writeHead(400, { "content-type": "application/json" }).end(`{"invalid_event":${body}}`);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const rport = (receiver.address() as AddressInfo).port;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cfg = writeDaemonConfig(dir, {
    node: { name: "redactor", listen: port, data_dir: dataDir, api_token: API_TOKEN },
    defaults: { interval: "300ms", timeout: "200ms", missed_before_restart: 1000 },
    peers: [
      tcpPeer("down", 9),
      // A probe whose output carries the key (a health script printing its environment).
      {
        name: "leaky",
        probe: { exec: { argv: ["/bin/sh", "-c", 'echo "token $0" >&2; exit 1', "${PD_KEY}"] } },
        restart: "none",
        isolate: "none",
      },
    ],
    alerts: [
      { name: "pd", pagerduty: { routing_key: "${PD_KEY}", url: `http://127.0.0.1:${rport}/v2/enqueue` } },
    ],
  });
  const run = spawnCli(["run", "--config", cfg], { PD_KEY: ROUTING_KEY });
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  try {
    await until(
      "the node's /health",
      async () => (await fetch(`${url}/health`).catch(() => null))?.ok === true,
      30_000,
    );
    // The alert for "down" is dead-lettered with the receiver's answer as its reason.
    let deliveries = "";
    await until(
      "a dead-lettered delivery to pd",
      async () => {
        deliveries = await (await fetch(`${url}/v1/deliveries?state=dead`)).text();
        return deliveries.includes("HTTP 400");
      },
      30_000,
    );
    assert.ok(
      received.some((b) => b.includes(ROUTING_KEY)),
      "the receiver was sent the key (and echoed it)",
    );
    assert.ok(!deliveries.includes(ROUTING_KEY), `/v1/deliveries: ${deliveries}`);
    assert.match(
      deliveries,
      /\\"routing_key\\":\\"\*\*\*\\"/,
      "the rest of the answer is kept, the key masked",
    );

    // The probe's output is shown, the key in it masked.
    let mesh = "";
    await until(
      "the leaky probe's error",
      async () => {
        mesh = await (await fetch(`${url}/v1/mesh`)).text();
        return /token \*\*\*/.test(mesh);
      },
      30_000,
    );
    assert.ok(!mesh.includes(ROUTING_KEY), `/v1/mesh: ${mesh}`);
    const history = await (await fetch(`${url}/v1/peers/leaky/history`)).text();
    assert.match(history, /token \*\*\*/, history.slice(0, 500));
    assert.ok(!history.includes(ROUTING_KEY), `/v1/peers/leaky/history: ${history.slice(0, 500)}`);

    // The event stream's probe events (the dashboard's live beats) carry the same error, masked.
    const stream = await fetch(`${url}/v1/events/stream?probes=1`, { signal: AbortSignal.timeout(30_000) });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let streamed = "";
    try {
      while (!/event: probe\ndata: \{"peer":"leaky"[^\n]*\n\n/.test(streamed)) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += decoder.decode(value, { stream: true });
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    assert.match(streamed, /event: probe\ndata: \{"peer":"leaky"[^\n]*token \*\*\*/, streamed.slice(0, 500));
    assert.ok(!streamed.includes(ROUTING_KEY), `/v1/events/stream?probes=1: ${streamed.slice(0, 500)}`);

    const events = await (await fetch(`${url}/v1/events`)).text();
    assert.ok(events.includes('"action":"alert"'), events.slice(0, 300));
    assert.ok(!events.includes(ROUTING_KEY), `/v1/events: ${events.slice(0, 2000)}`);

    const test = await fetch(`${url}/v1/alerts/pd/test`, { method: "POST", headers: auth });
    const testAnswer = await test.text();
    assert.equal(test.status, 502, testAnswer);
    assert.ok(!testAnswer.includes(ROUTING_KEY), `alerts test answer: ${testAnswer}`);
    assert.match(testAnswer, /HTTP 400/);

    const ev = await cli(["events", "--json", "--url", url]);
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /HTTP 400/, "the delivery error is listed");
    assert.ok(!ev.stdout.includes(ROUTING_KEY), "wdmesh events --json");

    // The state file and its write-ahead log, while the node runs.
    const db = join(dataDir, "wdmesh.db");
    for (const f of [db, `${db}-wal`]) {
      if (!existsSync(f)) continue;
      assert.ok(!readFileSync(f).includes(ROUTING_KEY), `${f} holds the key`);
    }
    assert.ok(
      readFileSync(`${db}-wal`).length > 0 || readFileSync(db).includes("HTTP 400"),
      "something was written",
    );
  } finally {
    run.child.kill("SIGTERM");
    const r = await run.result;
    await new Promise<void>((res) => receiver.close(() => res()));
    receiver.closeAllConnections();
    const db = join(dataDir, "wdmesh.db");
    const dbBytes = existsSync(db) ? readFileSync(db) : Buffer.alloc(0);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /HTTP 400/, "the log tells of the rejected delivery");
    assert.ok(!r.stdout.includes(ROUTING_KEY), "the log holds the key");
    assert.ok(!r.stderr.includes(ROUTING_KEY));
    assert.ok(dbBytes.includes("HTTP 400"), "the checkpointed state file has the delivery error");
    assert.ok(!dbBytes.includes(ROUTING_KEY), "the checkpointed state file holds the key");
  }
});
