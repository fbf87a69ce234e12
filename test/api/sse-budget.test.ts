// The event stream's per-client budget, on a fake clock with fake responses: one frame
// per entry shared by every client, a client over 1 MiB of unsent bytes or not drained
// for 30 s is dropped (what the streams hold unsent, `bufferedBytes`, never passes the
// budget), and a dropped client that resumes with its last id misses nothing.
// Probe events are capped at one per peer per second, the newest result of a burst last.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SSE_MAX_BUFFERED_BYTES, SSE_PROBE_INTERVAL_MS, SSE_STALL_MS, SseHub } from "../../src/api/sse.js";
import type { PeerBeat } from "../../src/api/probe-history.js";
import { FakeBackend } from "../helpers/fake-backend.js";
import { FakeClock } from "../helpers/fake-clock.js";

/** A response whose socket never sends anything unless told to drain. */
class FakeRes extends EventEmitter {
  readonly chunks: Buffer[] = [];
  writableLength = 0;
  writableEnded = false;
  destroyed = false;
  /** When true, writes are "sent" at once (a reading client). */
  flowing = false;
  writeHead(): this {
    return this;
  }
  flushHeaders(): void {}
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    if (this.flowing) return true;
    this.writableLength += chunk.length;
    return this.writableLength < 16_384;
  }
  drain(): void {
    this.writableLength = 0;
    this.emit("drain");
  }
  end(): void {
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.writableLength = 0;
    this.emit("close");
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  /** The probe events received, in order. */
  probes(): PeerBeat[] {
    return [...this.text().matchAll(/^event: probe\ndata: (.*)$/gm)].map(
      (m) => JSON.parse(m[1]!) as PeerBeat,
    );
  }
  ids(): number[] {
    return [...this.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  }
}

function setup(): {
  hub: SseHub;
  backend: FakeBackend;
  clock: FakeClock;
  open(after?: number, flowing?: boolean, probes?: boolean): FakeRes;
} {
  const backend = new FakeBackend();
  const clock = new FakeClock();
  const hub = new SseHub(backend, { heartbeatMs: 15_000, maxClients: 100, clock });
  return {
    hub,
    backend,
    clock,
    open(after, flowing = false, probes = false) {
      const res = new FakeRes();
      res.flowing = flowing;
      const req = new EventEmitter();
      hub.open(req as unknown as IncomingMessage, res as unknown as ServerResponse, after, { probes });
      return res;
    },
  };
}

const big = "x".repeat(4_000);

void test("each entry is serialised once: every client is given the same frame", () => {
  const { hub, backend, open } = setup();
  const clients = [open(), open(), open()];
  for (const c of clients) c.flowing = true;
  backend.append({ peer_name: "sidecar", action: "alert", reason: "shared" });
  const frames = clients.map((c) => c.chunks.at(-1));
  assert.ok(frames[0] instanceof Buffer);
  assert.ok(
    frames.every((f) => f === frames[0]),
    "the very same Buffer, not a copy per client",
  );
  assert.match(frames[0]?.toString() ?? "", /^id: 1\nevent: escalation\ndata: .*"reason":"shared"/);
  hub.closeAll();
});

void test("a client past 1 MiB of unsent bytes is dropped; a reading client is not", () => {
  const { hub, backend, open } = setup();
  const stuck = open();
  const reader = open(undefined, true);
  const perEntry = big.length + 200;
  const n = Math.ceil(SSE_MAX_BUFFERED_BYTES / perEntry) + 5;
  let most = 0;
  for (let i = 0; i < n; i++) {
    backend.append({ peer_name: "sidecar", action: "alert", reason: big });
    most = Math.max(most, hub.bufferedBytes);
  }
  assert.equal(stuck.destroyed, true, "dropped");
  assert.ok(stuck.writableLength <= SSE_MAX_BUFFERED_BYTES);
  assert.ok(
    most > SSE_MAX_BUFFERED_BYTES - perEntry && most <= SSE_MAX_BUFFERED_BYTES,
    `what the streams held unsent reached the budget and never passed it (${most} bytes)`,
  );
  assert.equal(hub.bufferedBytes, 0, "a dropped client holds nothing");
  assert.equal(reader.destroyed, false);
  assert.equal(reader.ids().length, n, "the reader got every entry");
  assert.equal(hub.size, 1);
  assert.equal(hub.droppedClients, 1);
  hub.closeAll();
});

void test("a client not drained for 30 s is dropped; one that drains in time is kept", async () => {
  const { hub, backend, clock, open } = setup();
  const stalled = open();
  const slow = open();
  // Enough to fill both sockets (write returns false) but far below 1 MiB.
  for (let i = 0; i < 6; i++) backend.append({ peer_name: "sidecar", action: "alert", reason: big });
  await clock.advance(SSE_STALL_MS - 2_000);
  assert.equal(stalled.destroyed, false, "not yet 30 s");
  slow.drain();
  await clock.advance(3_000);
  assert.equal(stalled.destroyed, true, "30 s without draining");
  assert.equal(slow.destroyed, false, "drained within the 30 s");
  assert.equal(hub.size, 1);
  hub.closeAll();
  assert.equal(clock.pending, 0, "no timer left once every stream is closed");
});

void test("a dropped client that resumes with Last-Event-ID loses nothing", () => {
  const { hub, backend, open } = setup();
  const stuck = open();
  const n = Math.ceil(SSE_MAX_BUFFERED_BYTES / (big.length + 200)) + 20;
  for (let i = 0; i < n; i++) backend.append({ peer_name: "sidecar", action: "alert", reason: big });
  assert.equal(stuck.destroyed, true);
  const got = stuck.ids();
  const resumed = open(got.at(-1), true); // a client that reads again
  backend.append({ peer_name: "sidecar", action: "recovered", reason: "after the drop" });
  const all = [...got, ...resumed.ids()];
  assert.deepEqual(
    all,
    Array.from({ length: n + 1 }, (_, i) => i + 1),
    "every seq exactly once, in order",
  );
  hub.closeAll();
});

void test("keep-alive comments follow the heartbeat on the hub's clock", async () => {
  const { hub, clock, open } = setup();
  const c = open();
  c.flowing = true;
  await clock.advance(15_000);
  assert.match(c.text(), /: keep-alive\n\n/);
  hub.closeAll();
});

const beat = (peer: string, n: number): PeerBeat => ({
  peer,
  at: new Date(Date.parse("2026-01-01T00:00:00Z") + n).toISOString(),
  result: n % 2 === 0 ? "ok" : "miss",
  duration_ms: n,
});

void test("probe events: at most one per peer per second; a burst ends with its newest result", async () => {
  const { hub, backend, clock, open } = setup();
  const c = open(undefined, true, true);
  const other = open(undefined, true, true);
  // 200 results of peer a and one of b within one millisecond of the fake clock.
  for (let i = 0; i < 200; i++) backend.emitProbe(beat("a", i));
  backend.emitProbe(beat("b", 0));
  assert.deepEqual(
    c.probes().map((b) => `${b.peer}#${b.duration_ms}`),
    ["a#0", "b#0"],
    "the first result of each peer at once, the rest held",
  );
  await clock.advance(SSE_PROBE_INTERVAL_MS - 1);
  assert.equal(c.probes().length, 2, "nothing more within a's second");
  await clock.advance(1);
  assert.deepEqual(
    c.probes().map((b) => `${b.peer}#${b.duration_ms}`),
    ["a#0", "b#0", "a#199"],
    "when a's second is over: a's newest result, once",
  );
  assert.deepEqual(other.probes(), c.probes(), "every client gets the same events");
  await clock.advance(10 * SSE_PROBE_INTERVAL_MS);
  assert.equal(c.probes().length, 3, "nothing held, nothing sent");
  backend.emitProbe(beat("a", 300));
  backend.emitProbe(beat("a", 301));
  assert.equal(c.probes().length, 4, "a's second is over: sent at once; the next one is held");
  hub.closeAll();
  assert.equal(clock.pending, 0, "no timer left once every stream is closed, even with a result held");
});

void test("probe events: a peer probed once a second or slower is never delayed", async () => {
  const { hub, backend, clock, open } = setup();
  const c = open(undefined, true, true);
  for (let i = 0; i < 5; i++) {
    backend.emitProbe(beat("a", i));
    assert.equal(c.probes().length, i + 1, `result ${i} sent at once`);
    await clock.advance(SSE_PROBE_INTERVAL_MS);
  }
  hub.closeAll();
});

void test("probe events: a peer probed every 100 ms for 10 s gives at most 11 events, in order, ending with its newest", async () => {
  const { hub, backend, clock, open } = setup();
  const c = open(undefined, true, true);
  for (let i = 0; i < 100; i++) {
    backend.emitProbe(beat("a", i));
    await clock.advance(100);
  }
  await clock.advance(SSE_PROBE_INTERVAL_MS);
  const got = c.probes().map((b) => b.duration_ms);
  assert.ok(got.length >= 10 && got.length <= 11, `${got.length} events: ${got.join(",")}`);
  assert.deepEqual(
    [...got].sort((x, y) => x - y),
    got,
    "in order",
  );
  assert.equal(got.at(-1), 99, "the newest result last");
  hub.closeAll();
});
