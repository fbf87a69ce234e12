// Keep-alive lanes of the HTTP client (one single-socket undici Client each, per
// origin), against real loopback servers: reuse, isolation of a hung path, the cap,
// and that a dead origin holds no lane.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HttpClient, compileHttpTarget, type HttpTarget } from "../../src/probe/http.js";
import { closedPort, statusServer } from "../helpers/hostile-server.js";
import { until } from "../helpers/wait.js";

function target(url: string): HttpTarget {
  const t = compileHttpTarget(url);
  assert.ok(typeof t !== "string", String(t));
  return t;
}

const GET = { timeoutMs: 2_000, expectStatus: 200, collectBody: false };

void test("sequential probes to 3 origins keep exactly one lane per origin", async () => {
  const servers = await Promise.all([statusServer(200), statusServer(200), statusServer(200)]);
  const client = new HttpClient();
  try {
    for (let i = 0; i < 5; i++) {
      for (const s of servers) {
        const out = await client.get(target(`${s.url}/health`), GET);
        assert.equal(out.error, undefined);
      }
      await sleep(10); // undici hands the socket back one turn after the response
    }
    assert.equal(client.laneCount, 3);
    assert.deepEqual(
      servers.map((s) => s.connections()),
      [1, 1, 1],
    );
  } finally {
    await client.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});

void test("a hung path does not hold up another path on the same origin; the cap bounds lanes", async () => {
  const hung = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((req, res) => {
    if (req.url === "/hang") hung.add(res);
    else res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new HttpClient({ maxConnectionsPerOrigin: 2 });
  try {
    const stuck = client.get(target(`${base}/hang`), { ...GET, timeoutMs: 1_500 });
    const ok = await client.get(target(`${base}/ok`), GET);
    assert.equal(ok.error, undefined, "healthy path answered on a second lane while /hang is stuck");
    assert.equal(client.laneCount, 2);
    // At the cap a third concurrent GET queues on an existing lane instead of opening one.
    const queued = client.get(target(`${base}/ok`), GET);
    assert.equal(client.laneCount, 2);
    assert.equal((await queued).error, undefined);
    assert.match((await stuck).error ?? "", /timeout after 1500 ms/);
  } finally {
    for (const res of hung) res.destroy();
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

void test("a refused origin keeps no lane", async () => {
  const port = await closedPort();
  const client = new HttpClient();
  try {
    const out = await client.get(target(`http://127.0.0.1:${port}/`), GET);
    assert.match(out.error ?? "", /connection refused/);
    await until("the refused origin's lane dropped", () => client.laneCount === 0);
  } finally {
    await client.close();
  }
});
