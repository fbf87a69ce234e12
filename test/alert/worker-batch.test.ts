// Batched delivered marks: with an outbox that supports markDeliveredMany, the worker
// writes delivered marks in batches (one transaction each), and always before it waits,
// retries, dead-letters or stops — never sending a row twice or skipping one.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DeliverOptions, DeliveryOutcome, PostRequest } from "../../src/alert/deliver.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SinkWorker, type WorkerOptions } from "../../src/alert/worker.js";
import type { OutboxRow } from "../../src/store/types.js";
import { MemoryOutbox, makeAction } from "../helpers/memory-outbox.js";
import { FakeClock, turnsUntil } from "../helpers/fake-clock.js";
import { silentLogger } from "../../src/core/logger.js";

/** MemoryOutbox plus the optional batch API, like SqliteStore. */
class BatchOutbox extends MemoryOutbox {
  failMany = 0;
  override head(sink: string, afterSeq = 0): OutboxRow | undefined {
    const r = this.rows.find((x) => x.sink === sink && x.state === "pending" && x.seq > afterSeq);
    return r ? structuredClone(r) : undefined;
  }
  markDeliveredMany(marks: ReadonlyArray<{ seq: number; at: number }>): void {
    if (this.failMany > 0) {
      this.failMany--;
      throw new Error("disk I/O error");
    }
    this.calls.push(`delivered-many ${marks.map((m) => m.seq).join(",")}`);
    const saved = this.calls.length;
    for (const m of marks) super.markDelivered(m.seq, m.at);
    this.calls.length = saved; // one entry per transaction
  }
}

function sink(): SinkConfig {
  return {
    name: "hook",
    kind: "webhook",
    format: "generic",
    url: "http://127.0.0.1:1/hook",
    secret: "s",
    minSeverity: "INFO",
    timeoutMs: 1000,
    maxAgeMs: 86_400_000,
    headers: {},
  } as SinkConfig;
}

function setup(over: Partial<WorkerOptions> = {}, send?: WorkerOptions["send"]) {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const outbox = new BatchOutbox(() => time.now());
  const sent: string[] = [];
  const plan = new Map<string, DeliveryOutcome[]>();
  const errors: string[] = [];
  const worker = new SinkWorker({
    sink: sink(),
    outbox,
    clock: time,
    random: () => 0.5,
    logger: { ...silentLogger, error: (_o, m) => void errors.push(String(m)) },
    send:
      send ??
      (async (req: PostRequest, _o: DeliverOptions) => {
        const id = String((JSON.parse(req.body) as { id: string }).id);
        sent.push(id);
        await new Promise<void>((r) => setImmediate(r));
        return plan.get(id)?.shift() ?? { kind: "delivered", status: 200 };
      }),
    ...over,
  });
  outbox.onAppend(() => worker.wake());
  return { time, outbox, sent, plan, errors, worker };
}

const seqs = (from: number, to: number): string =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).join(",");

test("250 rows: each sent once, in order; marks written in 3 transactions (100, 100, then the rest when idle)", async () => {
  const { outbox, sent, worker } = setup();
  const ids = Array.from({ length: 250 }, () => outbox.append("hook", makeAction()).action.id);
  worker.start();
  await turnsUntil("all marked delivered", () => outbox.depth()["hook"]?.pending === 0);
  assert.deepEqual(sent, ids);
  assert.deepEqual(outbox.calls, [
    `delivered-many ${seqs(1, 100)}`,
    `delivered-many ${seqs(101, 200)}`,
    `delivered-many ${seqs(201, 250)}`,
  ]);
  assert.ok(outbox.rows.every((r) => r.state === "delivered" && r.attempts === 1));
  assert.equal(worker.stats().pending, 0);
  await worker.stop();
});

test("held marks are written before a retry", async () => {
  const { outbox, sent, plan, worker } = setup({ deliveredFlushMs: 1000 });
  const rows = [1, 2, 3, 4].map(() => outbox.append("hook", makeAction()));
  plan.set(rows[2]!.action.id, [{ kind: "retry", status: 503, error: "HTTP 503" }]);
  worker.start();
  await turnsUntil("all delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(
    sent,
    [rows[0], rows[1], rows[2], rows[2], rows[3]].map((r) => r!.action.id),
  );
  // 1,2 held, written before the retry of 3; 3 is delivered 500 ms later (virtual), 4 at the same
  // instant: both held, then written when the outbox is empty.
  assert.deepEqual(outbox.calls, ["delivered-many 1,2", "retry 3", "delivered-many 3,4"]);
});

test("marks are held at most deliveredFlushMs", async () => {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  // Each request takes 60 ms of (virtual) time.
  const { outbox, worker } = setup({ clock: time, deliveredFlushMs: 100 }, async () => {
    time.jump(60);
    return { kind: "delivered", status: 200 };
  });
  for (let i = 0; i < 5; i++) outbox.append("hook", makeAction());
  worker.start();
  await turnsUntil("all delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  // 1 at +60, 2 at +120, 3 at +180: 3 is 120 ms after 1 → written; 4, 5 written when idle.
  assert.deepEqual(outbox.calls, ["delivered-many 1,2,3", "delivered-many 4,5"]);
  assert.deepEqual(
    outbox.rows.map((r) => r.delivered_at! - outbox.rows[0]!.created_at),
    [60, 120, 180, 240, 300],
    "each row keeps its own delivery time",
  );
});

test("held marks are written before a dead-letter and at stop(); stats do not count them pending", async () => {
  let release: (() => void) | null = null;
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const { outbox, worker } = setup({ clock: time }, async (req) => {
    const id = String((JSON.parse(req.body) as { id: string }).id);
    if (id === "dead-me") return { kind: "dead", status: 400, error: "HTTP 400: no" };
    if (id === "block") {
      await new Promise<void>((r) => (release = r));
      return { kind: "aborted" };
    }
    return { kind: "delivered", status: 200 };
  });
  outbox.append("hook", makeAction());
  outbox.append("hook", makeAction({ id: "dead-me" }));
  outbox.append("hook", makeAction());
  outbox.append("hook", makeAction());
  outbox.append("hook", makeAction({ id: "block" }));
  worker.start();
  await turnsUntil("the request of row 5 in flight", () => release !== null);
  assert.deepEqual(
    outbox.calls,
    ["delivered 1", "dead 2"],
    "a single held mark is written alone, before the dead-letter",
  );
  assert.equal(worker.stats().pending, 1, "rows 3 and 4 are delivered, only held");
  const stopping = worker.stop();
  (release as unknown as () => void)();
  await stopping;
  assert.deepEqual(outbox.calls, ["delivered 1", "dead 2", "delivered-many 3,4"]);
  assert.equal(outbox.rows[4]!.state, "pending", "the aborted row stays pending");
});

test("a failing batch write is logged and retried; no row is sent twice or skipped", async () => {
  const { outbox, sent, errors, worker } = setup({ deliveredBatch: 3, storeRetryMs: 10 });
  outbox.failMany = 2;
  const ids = Array.from({ length: 7 }, () => outbox.append("hook", makeAction()).action.id);
  worker.start();
  await turnsUntil("all delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(sent, ids);
  assert.deepEqual(outbox.calls, ["delivered-many 1,2,3", "delivered-many 4,5,6", "delivered 7"]);
  assert.equal(errors.filter((e) => e === "alert outbox failed; retrying").length, 2);
});

test("without markDeliveredMany every mark is written at once; batch options are validated", async () => {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const plain = new MemoryOutbox(() => time.now());
  const w = new SinkWorker({
    sink: sink(),
    outbox: plain,
    clock: time,
    send: async () => ({ kind: "delivered", status: 200 }),
  });
  plain.append("hook", makeAction());
  plain.append("hook", makeAction());
  w.start();
  await turnsUntil("delivered", () => plain.depth()["hook"]?.pending === 0);
  await w.stop();
  assert.deepEqual(plain.calls, ["delivered 1", "delivered 2"]);
  assert.throws(() => new SinkWorker({ sink: sink(), outbox: plain, deliveredBatch: 0 }), {
    code: "WDM_INVALID_OPTION",
    message: /deliveredBatch.*1 to 10000 rows/,
  });
  assert.throws(() => new SinkWorker({ sink: sink(), outbox: plain, deliveredFlushMs: -1 }), {
    code: "WDM_INVALID_OPTION",
    message: /deliveredFlushMs/,
  });
});
