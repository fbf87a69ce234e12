// Security findings against a real `wdmesh run` process: reads off loopback need a
// token (and a config without one is refused, saying what to add), a rebound Host gets
// 421 and a foreign Origin 403, the data_dir and state files are private, and API
// sockets are capped by node.max_connections (refusals counted in /metrics).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { cli, spawnCli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { rawRequest as raw } from "../helpers/raw-request.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";

const API_TOKEN = "api-token-0123456789abcdef";
const READ_TOKEN = "read-token-0123456789abcdef";
const MAX_CONNECTIONS = 16;

const auth = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

void test("wdmesh run on a non-loopback address without read_token exits 2 and says what to add", async (t) => {
  const dir = tempDir(t, "wdm-sec-");
  const cfg = writeDaemonConfig(dir, {
    node: { name: "open", listen: `0.0.0.0:${await freePort()}`, data_dir: dir, api_token: API_TOKEN },
  });
  const r = await cli(["run", "--config", cfg]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /node\.read_token: is required because node\.listen/);
  assert.match(r.stderr, /add `read_token: \$\{file:\/etc\/wdmesh\/read\.token\}` under node:/);
  assert.match(r.stderr, /`public_reads: true`/);
});

void test("a node on 0.0.0.0: token-gated reads, Host/Origin checks, private files, capped sockets", async (t) => {
  const dir = tempDir(t, "wdm-sec-");
  const dataDir = join(dir, "state");
  mkdirSync(dataDir, { mode: 0o755 });
  const port = await freePort();
  const cfg = writeDaemonConfig(dir, {
    node: {
      name: "guarded",
      listen: `0.0.0.0:${port}`,
      data_dir: dataDir,
      api_token: API_TOKEN,
      read_token: "${READ_TOKEN}",
      max_connections: MAX_CONNECTIONS,
    },
    defaults: { interval: "1h" },
    peers: [tcpPeer("nobody", 9)],
  });
  const run = spawnCli(["run", "--config", cfg], { READ_TOKEN });
  const sockets: Socket[] = [];
  try {
    await until(
      "the node's /health",
      async () => (await raw(port, "/health", {}).catch(() => null))?.status === 200,
      30_000,
    );

    // Reads need the token off loopback; /health stays open.
    for (const path of ["/v1/mesh", "/v1/events", "/v1/deliveries", "/metrics", "/v1/events/stream"]) {
      assert.equal((await raw(port, path, {})).status, 401, path);
    }
    assert.equal((await raw(port, "/v1/mesh", auth(READ_TOKEN))).status, 200);
    assert.equal((await raw(port, "/v1/mesh", auth(API_TOKEN))).status, 200, "the control token may read");

    // DNS rebinding: the right token is no help with a foreign Host.
    const rebound = await raw(port, "/v1/mesh", { host: `evil.rebind.example:${port}`, ...auth(READ_TOKEN) });
    assert.equal(rebound.status, 421, rebound.body);
    const foreign = await raw(
      port,
      "/v1/peers/nobody/check",
      { origin: "https://evil.example", ...auth(API_TOKEN) },
      "POST",
    );
    assert.equal(foreign.status, 403, foreign.body);

    // Private files, although data_dir existed with 0755.
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    for (const f of ["wdmesh.db", "wdmesh.db-wal", "wdmesh.db-shm"]) {
      assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    }

    // Sockets past max_connections are closed at accept.
    let closedByServer = 0;
    for (let i = 0; i < MAX_CONNECTIONS + 24; i++) {
      const s = connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      s.on("close", () => (closedByServer += 1));
      sockets.push(s);
    }
    await until("the node to refuse the sockets past max_connections", () => closedByServer >= 24, 20_000);
    for (const s of sockets) s.destroy();
    let metrics = "";
    await until(
      "a scrape after the idle sockets are gone",
      async () => {
        const r = await raw(port, "/metrics", auth(READ_TOKEN)).catch(() => null);
        metrics = r?.body ?? "";
        return r?.status === 200;
      },
      20_000,
    );
    const refused = Number(/^wdmesh_api_connections_refused_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(refused >= 24, `refused ${refused}\n${metrics.slice(0, 500)}`);
    const open = Number(/^wdmesh_api_connections (\d+)/m.exec(metrics)?.[1]);
    assert.ok(open >= 1 && open <= MAX_CONNECTIONS, `open ${open}`);
  } finally {
    for (const s of sockets) s.destroy();
    run.child.kill("SIGTERM");
    const r = await run.result;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(READ_TOKEN) && !r.stdout.includes(API_TOKEN), "no token in the log");
  }
});

void test("two nodes with their own identities (wdmesh keygen) watch each other; their views go only to members or read_token", async (t) => {
  const dir = tempDir(t, "wdm-sec-id-");
  const runs: Array<ReturnType<typeof spawnCli>> = [];
  try {
    const names = ["id-a", "id-b"];
    const pub: string[] = [];
    for (const n of names) {
      const k = await cli(["keygen", "--out", join(dir, `${n}.key`)]);
      assert.equal(k.code, 0, k.stderr);
      assert.equal(statSync(join(dir, `${n}.key`)).mode & 0o777, 0o600, "the private key is 0600");
      pub.push(k.stdout.trim());
      assert.equal((await cli(["keygen", "--out", join(dir, `${n}.key`)])).code, 1, "never overwrites a key");
    }
    const ports = [await freePort(), await freePort()];
    names.forEach((n, i) => {
      const o = 1 - i;
      writeDaemonConfig(
        dir,
        {
          node: {
            name: n,
            listen: ports[i],
            data_dir: join(dir, `${n}-state`),
            identity: `\${file:${join(dir, `${n}.key`)}}`,
            read_token: READ_TOKEN,
          },
          defaults: { interval: "300ms", timeout: "250ms" },
          mesh: {
            confirm: "any",
            members: [{ name: names[o], url: `http://127.0.0.1:${ports[o]}`, public_key: pub[o] }],
          },
        },
        `${n}.yaml`,
      );
    });
    for (const n of names) runs.push(spawnCli(["run", "--config", join(dir, `${n}.yaml`)]));
    for (const [i, port] of ports.entries()) {
      await until(
        `${names[i]} to see its member HEALTHY with a verified view`,
        async () => {
          const r = await raw(port, "/v1/mesh", auth(READ_TOKEN)).catch(() => null);
          if (r?.status !== 200) return false;
          const m = (JSON.parse(r.body) as { members: Array<{ status: string; view_age_ms: number | null }> })
            .members[0];
          return m?.status === "HEALTHY" && typeof m.view_age_ms === "number";
        },
        30_000,
      );
    }
    // The view: not for anyone who reaches the port; for read_token, and for members (above).
    const anon = await raw(ports[0] as number, "/v1/mesh/view?nonce=abc", {});
    assert.equal(anon.status, 401, anon.body);
    const forged = await raw(ports[0] as number, "/v1/mesh/view?nonce=abc", {
      "x-wdmesh-from": "id-b",
      "x-wdmesh-timestamp": String(Date.now()),
      "x-wdmesh-signature": `hmac-sha256=${"0".repeat(64)}`,
    });
    assert.equal(forged.status, 401, forged.body);
    const reader = await raw(ports[0] as number, "/v1/mesh/view?nonce=abc", auth(READ_TOKEN));
    assert.equal(reader.status, 200, reader.body);
    assert.match(reader.body, /"node":"id-a"/);
  } finally {
    for (const r of runs) r.child.kill("SIGTERM");
    const results = await Promise.all(runs.map((r) => r.result));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes("PRIVATE KEY"), "the private key is never logged");
    }
  }
});
