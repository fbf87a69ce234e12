// Webhook delivery against a real loopback HTTP receiver and the real SQLite outbox.
import { hostname } from "node:os";
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { createAlerting, type Alerting } from "../../src/alert/dispatcher.js";
import { verifyWebhook } from "../../src/index.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { freePort } from "../helpers/ports.js";
import { Receiver, type RecordedRequest } from "../helpers/receiver.js";
import { commitAction, commitLadder, newAction } from "../alert/commit.js";
import { until } from "../helpers/wait.js";
import { tempDir, type Owner } from "../helpers/tmp-dir.js";

const SECRET = "whsec-test-0123456789";

function hook(url: string, over: Partial<SinkConfig> = {}): SinkConfig {
  return {
    name: "architect",
    kind: "webhook",
    format: "generic",
    url,
    secret: SECRET,
    minSeverity: "INFO",
    timeoutMs: 2000,
    maxAgeMs: 86_400_000,
    headers: {},
    ...over,
  } as SinkConfig;
}

/** Verified the way a receiver would: only node:crypto, over the raw body. */
function signatureValid(r: RecordedRequest): boolean {
  const ts = String(r.headers["x-wdmesh-timestamp"]);
  const given = Buffer.from(String(r.headers["x-wdmesh-signature"]));
  const want = Buffer.from("sha256=" + createHmac("sha256", SECRET).update(`${ts}.${r.body}`).digest("hex"));
  const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
  return fresh && given.length === want.length && timingSafeEqual(given, want);
}

describe("webhook delivery (real receiver, SQLite outbox)", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function world(
    t: Owner,
    sink: (url: string) => SinkConfig,
    rx: Receiver,
  ): { store: SqliteStore; alerting: Alerting } {
    const dir = tempDir(t, "wdmesh-alert-");
    const s = sink(rx.url("/hook"));
    const store = SqliteStore.open({
      dataDir: dir,
      node: "immune",
      sinks: [{ name: s.name, minSeverity: s.minSeverity }],
    });
    // Compressed backoff (50 ms → 400 ms) so a down receiver costs seconds, not minutes.
    const alerting = createAlerting({
      sinks: [s],
      outbox: store,
      backoff: { initialMs: 50, maxMs: 400, minMs: 20 },
    });
    cleanup.push(() => store.close());
    cleanup.push(() => alerting.stop());
    cleanup.push(() => rx.stop());
    return { store, alerting };
  }

  test("receiver down while 6 actions are enqueued, then up on the same port: all arrive, in order, signed", async (t) => {
    const rx = new Receiver();
    await rx.start();
    const port = rx.port;
    await rx.stop(); // really down: nothing listens on the port
    const { store, alerting } = world(t, (u) => hook(u), rx);
    alerting.start();
    const sent = commitLadder(store);

    // The worker is really failing against the closed port, and holding the queue in order.
    await until(
      "3 failed attempts",
      () => (store.list({ sink: "architect", state: "pending" })[0]?.attempts ?? 0) >= 3,
    );
    const [st] = alerting.stats();
    assert.match(
      st?.last_error ?? "",
      new RegExp(`^connection refused \\(ECONNREFUSED\\) posting to http://127\\.0\\.0\\.1:${port}$`),
    );
    assert.equal(st?.pending, 6);
    assert.equal(st?.delivered, 0);
    assert.equal(rx.requests.length, 0);

    await rx.start(port);
    assert.equal(rx.port, port);
    await rx.waitFor(6);
    await until("outbox drained", () => store.depth()["architect"]?.pending === 0);

    const firstById = new Map<string, RecordedRequest>();
    for (const r of rx.requests) {
      const key = String(r.headers["idempotency-key"]);
      if (!firstById.has(key)) firstById.set(key, r);
    }
    assert.deepEqual(
      [...firstById.keys()],
      sent.map((a) => a.id),
      "every event, once per id, in order",
    );
    for (const [id, r] of firstById) {
      assert.equal(r.method, "POST");
      assert.equal(r.path, "/hook");
      assert.equal(r.headers["content-type"], "application/json");
      assert.ok(signatureValid(r), `signature of ${id} verifies`);
      const body = JSON.parse(r.body) as Record<string, unknown>;
      assert.equal(body["id"], id);
      assert.equal(body["version"], "1");
      assert.equal((body["peer"] as { name: string }).name, "sidecar");
    }
    const bodies = [...firstById.values()].map((r) => JSON.parse(r.body) as { action: string });
    assert.deepEqual(
      bodies.map((b) => b.action),
      ["alert", "restart", "restart", "restart", "isolate", "alert_architect"],
    );
    assert.equal(alerting.stats()[0]?.delivered, 6);
    assert.ok((alerting.stats()[0]?.retried ?? 0) >= 3);
  });

  test("format standard: every delivery verifies with the standardwebhooks package, as a receiver would", async (t) => {
    const rx = await new Receiver().start();
    const secret = "whsec_" + Buffer.from("0123456789abcdef0123456789abcdef").toString("base64");
    const { store, alerting } = world(t, (u) => hook(u, { format: "standard", secret }), rx);
    alerting.start();
    const sent = commitLadder(store);
    await rx.waitFor(6);
    await until("outbox drained", () => store.depth()["architect"]?.pending === 0);
    const wh = new Webhook(secret);
    const ids: string[] = [];
    for (const r of rx.requests) {
      const headers = {
        "webhook-id": String(r.headers["webhook-id"]),
        "webhook-timestamp": String(r.headers["webhook-timestamp"]),
        "webhook-signature": String(r.headers["webhook-signature"]),
      };
      assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]+=*$/);
      const payload = wh.verify(r.body, headers) as { id: string; version: string };
      assert.equal(payload.id, headers["webhook-id"]);
      assert.equal(payload.version, "1");
      assert.ok(verifyWebhook(secret, r.headers, r.body), "the library's verifier agrees");
      assert.throws(() => wh.verify(r.body.replace("sidecar", "sidecaR"), headers), "a changed body fails");
      ids.push(payload.id);
    }
    assert.deepEqual(
      ids,
      sent.map((a) => a.id),
    );
    const other = "whsec_" + Buffer.from("another-key-another-key-another!!").toString("base64");
    const first = rx.requests[0] as RecordedRequest;
    assert.equal(verifyWebhook(other, first.headers, first.body), false, "another secret fails");
  });

  test("format generic: verifyWebhook (library export) accepts real deliveries, rejects tampered ones", async (t) => {
    const rx = await new Receiver().start();
    const { store, alerting } = world(t, (u) => hook(u), rx);
    alerting.start();
    commitLadder(store);
    await rx.waitFor(6);
    for (const r of rx.requests) {
      assert.ok(verifyWebhook(SECRET, r.headers, r.body));
      assert.ok(verifyWebhook(SECRET, new Headers(r.headers as Record<string, string>), Buffer.from(r.body)));
      assert.equal(verifyWebhook(SECRET, r.headers, r.body + " "), false);
      assert.equal(verifyWebhook("wrong-secret", r.headers, r.body), false);
    }
  });

  test("the README's ten-line receiver accepts real generic deliveries and refuses a forged one", async (t) => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Alerts and verifying webhooks"));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, "the README has the receiver");
    const dir = tempDir(t, "wdmesh-readme-rx-");
    writeFileSync(join(dir, "receiver.mjs"), code);
    const port = await freePort();
    const child = spawn(process.execPath, [join(dir, "receiver.mjs")], {
      env: { ...process.env, PORT: String(port), WEBHOOK_SECRET: SECRET },
      stdio: ["ignore", "pipe", "inherit"],
    });
    cleanup.push(() => void child.kill());
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const url = `http://127.0.0.1:${port}/hook`;
    // Until the receiver listens, deliveries are refused and retried (50 ms → 400 ms backoff).
    const { store, alerting } = world(t, () => hook(url), new Receiver());
    alerting.start();
    commitLadder(store);
    await until(
      "the README receiver accepted all six",
      () => store.depth()["architect"]?.pending === 0,
      30_000,
    );
    assert.equal(store.list({ sink: "architect", state: "delivered" }).length, 6);
    // "delivered" is the receiver's 204; its stdout line may still be on its way: wait for it.
    await until("the README receiver printed the alert_architect delivery", () =>
      /alert_architect/.test(out),
    );
    assert.equal(out.match(/alert_architect/g)?.length, 1, out);
    const forged = await fetch(url, {
      method: "POST",
      headers: {
        "x-wdmesh-timestamp": String(Math.floor(Date.now() / 1000)),
        "x-wdmesh-signature": "sha256=00",
      },
      body: "{}",
    });
    assert.equal(forged.status, 401);
  });

  test("a receiver answering 400 dead-letters the row with the reason; the next row still goes", async (t) => {
    const rx = new Receiver();
    await rx.start();
    rx.replies.push({ status: 400, body: "bad request: unknown field 'peer'" });
    const { store, alerting } = world(t, (u) => hook(u), rx);
    alerting.start();
    const a = newAction({ action: "alert", severity: "MEDIUM", reason: "1 missed heartbeat" });
    const b = newAction({
      action: "recovered",
      severity: "INFO",
      reason: "probe ok",
      incident_id: a.incident_id,
    });
    commitAction(store, a);
    commitAction(store, b);
    await rx.waitFor(2);
    await until("drained", () => store.depth()["architect"]?.pending === 0);
    const dead = store.list({ sink: "architect", state: "dead" });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.action.id, a.id);
    assert.equal(dead[0]?.last_error, "HTTP 400: bad request: unknown field 'peer'");
    assert.equal(store.list({ sink: "architect", state: "delivered" })[0]?.action.id, b.id);
    const [st] = alerting.stats();
    assert.equal(st?.dead, 1);
    assert.equal(st?.dead_rows, 1);
    assert.equal(rx.requests.length, 2, "a dead row is not retried");
  });

  test("503 with Retry-After: 2 → the next attempt waits about 2 s, despite a 50 ms backoff", async (t) => {
    const rx = new Receiver();
    await rx.start();
    rx.replies.push({ status: 503, headers: { "Retry-After": "2" } });
    const { store, alerting } = world(t, (u) => hook(u), rx);
    alerting.start();
    const a = newAction({ action: "restart", severity: "HIGH", reason: "3 missed heartbeats" });
    commitAction(store, a);
    const [first, second] = await rx.waitFor(2);
    assert.equal(first?.headers["idempotency-key"], a.id);
    assert.equal(second?.headers["idempotency-key"], a.id);
    const gap = (second?.at ?? 0) - (first?.at ?? 0);
    assert.ok(gap >= 1500, `second attempt after ${gap.toFixed(0)} ms`);
    await until("delivered", () => store.depth()["architect"]?.pending === 0);
    assert.equal(
      store.list({ sink: "architect", state: "delivered" })[0]?.attempts,
      2,
      "one refused, one delivered",
    );
  });

  test("slack and pagerduty formats reach the receiver as their documented bodies", async (t) => {
    const rx = new Receiver();
    await rx.start();
    const dir = tempDir(t, "wdmesh-alert-");
    const sinks: SinkConfig[] = [
      {
        name: "slack",
        kind: "slack",
        url: rx.url("/slack"),
        minSeverity: "HIGH",
        timeoutMs: 2000,
        maxAgeMs: 3_600_000,
        headers: {},
      },
      {
        name: "pd",
        kind: "pagerduty",
        url: rx.url("/v2/enqueue"),
        routingKey: "R0UTING",
        minSeverity: "INFO",
        timeoutMs: 2000,
        maxAgeMs: 3_600_000,
        headers: {},
      },
    ];
    const store = SqliteStore.open({
      dataDir: dir,
      node: "immune",
      sinks: sinks.map((s) => ({ name: s.name, minSeverity: s.minSeverity })),
    });
    const alerting = createAlerting({ sinks, outbox: store });
    cleanup.push(
      () => store.close(),
      () => alerting.stop(),
      () => rx.stop(),
    );
    alerting.start();
    const inc = "inc-fmt";
    const alert = newAction({
      action: "alert",
      severity: "MEDIUM",
      reason: "1 missed heartbeat",
      incident_id: inc,
    });
    const restart = newAction({
      action: "restart",
      severity: "HIGH",
      reason: "3 missed heartbeats",
      incident_id: inc,
    });
    const rec = newAction({ action: "recovered", severity: "INFO", reason: "probe ok", incident_id: inc });
    for (const a of [alert, restart, rec]) commitAction(store, a);
    // slack (min HIGH): the restart, and the recovery of the incident it was told about; pagerduty: all three
    await rx.waitFor(5);
    await until(
      "drained",
      () => (store.depth()["pd"]?.pending ?? 1) + (store.depth()["slack"]?.pending ?? 1) === 0,
    );
    const slack = rx.requests
      .filter((r) => r.path === "/slack")
      .map((r) => JSON.parse(r.body) as { text: string });
    assert.deepEqual(slack, [
      { text: "[HIGH] restart sidecar on immune: 3 missed heartbeats" },
      { text: "[INFO] recovered sidecar on immune: probe ok" },
    ]);
    const pd = rx.requests
      .filter((r) => r.path === "/v2/enqueue")
      .map((r) => JSON.parse(r.body) as Record<string, unknown>);
    // One PagerDuty incident per watchdog incident, keyed by host and peer (the same from
    // every node that reports it).
    const key = `wdmesh/${hostname()}/peer/sidecar`;
    assert.deepEqual(
      pd.map((e) => [e["event_action"], e["dedup_key"], e["routing_key"]]),
      [
        ["trigger", key, "R0UTING"],
        ["trigger", key, "R0UTING"],
        ["resolve", key, "R0UTING"],
      ],
    );
  });
});
