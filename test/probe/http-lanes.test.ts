// Keep-alive connections of the HTTP client (node:http, bounded per origin), against
// real loopback servers: reuse, isolation of a hung path, the cap, that a dead origin
// holds no socket, a reused socket closed under a request, IPv6, and close().
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HttpClient, compileHttpTarget, probeHttp, type HttpTarget } from "../../src/probe/http.js";
import { closedPort, httpServer, rawServer, silentServer, statusServer } from "../helpers/hostile-server.js";
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
      await sleep(10); // Node hands the socket back to the Agent one tick after the response
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

void test("a reused keep-alive socket closed as the request arrives is retried once on a fresh one", async () => {
  // Answers the first request of each connection (keep-alive), then closes the
  // connection without answering when a second request arrives on it: what a server
  // whose idle timeout fires just as the probe reuses the socket looks like.
  const server = await rawServer((s) => {
    let requests = 0;
    s.on("data", () => {
      requests++;
      if (requests === 1) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok");
      else s.destroy();
    });
  });
  const client = new HttpClient();
  try {
    const first = await client.get(target(`${server.url}/`), GET);
    assert.equal(first.error, undefined);
    await sleep(10);
    assert.equal(client.laneCount, 1, "the first socket is kept alive");
    const second = await client.get(target(`${server.url}/`), GET);
    assert.equal(second.error, undefined, "answered on a fresh connection");
    assert.equal(server.connections(), 2);
  } finally {
    await client.close();
    await server.close();
  }
});

void test("IPv6 loopback: [::1] URLs are probed", async (t) => {
  const server = createServer((_req, res) => res.end("ok"));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "::1", () => resolve());
    });
  } catch (err) {
    const why = `no IPv6 loopback here (${(err as Error).message})`;
    if (process.env.CI) assert.fail(why);
    t.skip(why);
    return;
  }
  const client = new HttpClient();
  try {
    const out = await client.get(
      target(`http://[::1]:${(server.address() as AddressInfo).port}/health`),
      GET,
    );
    assert.equal(out.error, undefined);
    assert.equal(out.status, 200);
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

void test("close() settles running and queued GETs, leaves no socket, and opens none after", async () => {
  const server = await silentServer();
  const client = new HttpClient({ maxConnectionsPerOrigin: 1 });
  try {
    const running = client.get(target(`${server.url}/a`), { ...GET, timeoutMs: 60_000 });
    const queued = client.get(target(`${server.url}/b`), { ...GET, timeoutMs: 60_000 });
    await until("the first GET connected", () => server.connections() === 1);
    await client.close();
    assert.equal((await running).error, "prober closed");
    assert.equal((await queued).error, "prober closed");
    assert.equal(client.laneCount, 0);
    await sleep(100);
    assert.equal(server.connections(), 1, "the queued GET never connected");
    assert.equal((await client.get(target(`${server.url}/c`), GET)).error, "prober closed");
  } finally {
    await server.close();
  }
});

void test("a GET whose deadline runs out while it waits for a slot of its origin is inconclusive, not a miss", async () => {
  const server = await silentServer();
  const client = new HttpClient({ maxConnectionsPerOrigin: 1 });
  try {
    const hung = client.get(target(`${server.url}/hung`), { ...GET, timeoutMs: 60_000 });
    await until("the first GET connected", () => server.connections() === 1);
    // Same origin, other path: it waits behind the hung one and is never sent.
    const r = await probeHttp(client, { url: `${server.url}/other` }, 100);
    assert.deepEqual(r, {
      ok: false,
      duration_ms: r.duration_ms,
      error: `not sent: queued 10 ms behind other requests to ${server.url} (queued)`,
      cause: { kind: "queued" },
    });
    assert.equal(server.connections(), 1, "the queued GET never reached the peer");
    await client.close();
    assert.equal((await hung).error, "prober closed");
  } finally {
    await client.close();
    await server.close();
  }
});

void test("time spent queued behind other requests to the origin is not counted against the peer's deadline", async () => {
  // /hung never answers (its own 750 ms deadline frees the slot); /slow answers after
  // 7.5 s. Queued behind /hung (less than its 800 ms queue bound), /slow then gets its
  // whole 8 s deadline: counted from the queue, 8 s would run out at 8 s, before the
  // answer at ~8.25 s, and the peer would be blamed for a miss.
  const timers = new Set<NodeJS.Timeout>();
  const server = await httpServer((req, res) => {
    if (req.url === "/slow") timers.add(setTimeout(() => res.end("ok"), 7_500));
  });
  const client = new HttpClient({ maxConnectionsPerOrigin: 1 });
  try {
    const hung = client.get(target(`${server.url}/hung`), { ...GET, timeoutMs: 750 });
    await until("the first GET connected", () => server.connections() === 1);
    const r = await probeHttp(client, { url: `${server.url}/slow` }, 8_000);
    assert.equal(r.error, undefined, "the peer answered within its own deadline");
    assert.equal(r.ok, true);
    assert.ok(r.duration_ms < 8_000, `duration counts from the send, not the queue (${r.duration_ms} ms)`);
    assert.equal((await hung).error, "timeout after 750 ms (headers)");
  } finally {
    for (const t of timers) clearTimeout(t);
    await client.close();
    await server.close();
  }
});
