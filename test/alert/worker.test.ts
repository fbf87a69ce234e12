import { test } from "node:test";
import assert from "node:assert/strict";
import type { DeliverOptions, DeliveryOutcome, PostRequest } from "../../src/alert/deliver.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SinkWorker, type WorkerOptions } from "../../src/alert/worker.js";
import type { Logger } from "../../src/core/logger.js";
import type { EscalationAction } from "../../src/core/types.js";
import { MemoryOutbox, makeAction, makePeer } from "../helpers/memory-outbox.js";
import { FakeClock, turnsUntil } from "../helpers/fake-clock.js";

const HOUR = 3_600_000;

function hookSink(over: Partial<SinkConfig> = {}): SinkConfig {
  return {
    name: "hook",
    kind: "webhook",
    format: "generic",
    url: "http://127.0.0.1:1/hook",
    secret: "TOPSECRET",
    minSeverity: "INFO",
    timeoutMs: 1000,
    maxAgeMs: 24 * HOUR,
    headers: { Authorization: "Bearer HEADERSECRET" },
    ...over,
  } as SinkConfig;
}

interface Sent {
  at: number;
  id: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

class Script {
  sent: Sent[] = [];
  /** Per action id: outcomes to return, in order; then delivered. */
  plan = new Map<string, DeliveryOutcome[]>();
  constructor(private readonly time: FakeClock) {}
  send = async (req: PostRequest, _opts: DeliverOptions): Promise<DeliveryOutcome> => {
    const body = JSON.parse(req.body) as Record<string, unknown>;
    const id = String(body["id"]);
    this.sent.push({ at: this.time.now(), id, body, headers: req.headers });
    await new Promise<void>((r) => setImmediate(r));
    return this.plan.get(id)?.shift() ?? { kind: "delivered", status: 200 };
  };
}

class MemLogger implements Logger {
  lines: string[] = [];
  debug = (o: Record<string, unknown>, m?: string) => void this.lines.push(`debug ${m} ${JSON.stringify(o)}`);
  info = (o: Record<string, unknown>, m?: string) => void this.lines.push(`info ${m} ${JSON.stringify(o)}`);
  warn = (o: Record<string, unknown>, m?: string) => void this.lines.push(`warn ${m} ${JSON.stringify(o)}`);
  error = (o: Record<string, unknown>, m?: string) => void this.lines.push(`error ${m} ${JSON.stringify(o)}`);
}

function setup(over: Partial<WorkerOptions> = {}) {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const outbox = new MemoryOutbox(() => time.now());
  const script = new Script(time);
  const logger = new MemLogger();
  const worker = new SinkWorker({
    sink: hookSink(),
    outbox,
    clock: time,
    send: script.send,
    logger,
    random: () => 0.5,
    ...over,
  });
  outbox.onAppend(() => worker.wake());
  return { time, outbox, script, logger, worker };
}

/** Appends a `kind` action whose effect the store records as pending, then starts the worker. */
function appendWithEffect(
  { outbox, time, worker }: ReturnType<typeof setup>,
  kind: "restart" | "isolate",
  severity: EscalationAction["severity"],
): { action: EscalationAction; t0: number } {
  const action = makeAction({ action: kind, severity });
  outbox.addEffect(action.id, kind);
  const t0 = time.now();
  outbox.append("hook", action);
  worker.start();
  return { action, t0 };
}

const retry = (error = "HTTP 503 from http://127.0.0.1:1"): DeliveryOutcome => ({
  kind: "retry",
  status: 503,
  error,
});

/** `n` retryable failures in a row. */
const retries = (n: number): DeliveryOutcome[] => Array.from({ length: n }, () => retry());

test("delivers rows strictly in order, each once, and records them delivered", async () => {
  const { outbox, script, worker } = setup();
  const ids = [1, 2, 3, 4, 5].map(() => outbox.append("hook", makeAction()).action.id);
  worker.start();
  await turnsUntil("all delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(
    script.sent.map((s) => s.id),
    ids,
  );
  assert.deepEqual(outbox.calls, ["delivered 1", "delivered 2", "delivered 3", "delivered 4", "delivered 5"]);
  assert.equal(worker.stats().delivered, 5);
  assert.equal(worker.stats().pending, 0);
});

test("head-of-line: a failing row holds back the rows behind it until it is delivered", async () => {
  const { outbox, script, worker, time } = setup();
  const a = outbox.append("hook", makeAction()).action.id;
  const b = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, [retry(), retry(), retry()]);
  const t0 = time.now();
  worker.start();
  await turnsUntil("all delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(
    script.sent.map((s) => s.id),
    [a, a, a, a, b],
  );
  assert.deepEqual(outbox.calls, ["retry 1", "retry 1", "retry 1", "delivered 1", "delivered 2"]);
  // full jitter with random 0.5: half of 1 s, 2 s, 4 s
  assert.deepEqual(
    script.sent.map((s) => s.at - t0),
    [0, 500, 1500, 3500, 3500],
  );
  const st = worker.stats();
  assert.equal(st.retried, 3);
  assert.equal(st.delivered, 2);
});

test("retries back off exponentially up to the 5 min cap", async () => {
  const { outbox, script, worker, time } = setup({ random: () => 0.9999999 });
  const a = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, retries(12));
  worker.start();
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  const gaps = script.sent.slice(1).map((s, i) => s.at - (script.sent[i] as Sent).at);
  assert.deepEqual(
    gaps,
    [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000],
  );
  assert.ok(time.now() > 0);
});

test("Retry-After from the receiver overrides the backoff", async () => {
  const { outbox, script, worker } = setup();
  const a = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, [{ kind: "retry", status: 503, error: "HTTP 503", retryAfterMs: 42_000 }]);
  worker.start();
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal((script.sent[1] as Sent).at - (script.sent[0] as Sent).at, 42_000);
});

test("a rejected row is dead-lettered with the reason, logged without secrets, and the next row goes on", async () => {
  const { outbox, script, worker, logger } = setup();
  const a = outbox.append("hook", makeAction()).action.id;
  const b = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, [{ kind: "dead", status: 400, error: "HTTP 400: missing field" }]);
  worker.start();
  await turnsUntil("drained", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(
    script.sent.map((s) => s.id),
    [a, b],
  );
  assert.deepEqual(outbox.calls, ["dead 1", "delivered 2"]);
  assert.equal(outbox.rows[0]?.state, "dead");
  assert.equal(outbox.rows[0]?.last_error, "HTTP 400: missing field");
  const st = worker.stats();
  assert.equal(st.dead, 1);
  assert.equal(st.dead_rows, 1);
  assert.equal(st.last_error, "HTTP 400: missing field");
  assert.ok(
    logger.lines.some(
      (l) => l.startsWith("error alert dead-lettered") && l.includes("HTTP 400: missing field"),
    ),
  );
  for (const l of logger.lines) assert.doesNotMatch(l, /TOPSECRET|HEADERSECRET/);
});

test("a wall clock set back during retries: the worker keeps retrying and delivers; nothing is dead-lettered early", async () => {
  const { outbox, script, worker, time } = setup();
  const a = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, [retry(), retry(), retry(), retry()]);
  let setBack = false;
  time.onAdvance = () => {
    // After the second attempt the wall clock goes back two hours (NTP, an operator).
    if (!setBack && script.sent.length === 2) {
      setBack = true;
      time.setWallClockBy(-2 * HOUR);
    }
  };
  worker.start();
  await turnsUntil("delivered", () => outbox.rows[0]?.state === "delivered");
  await worker.stop();
  assert.ok(setBack, "the clock was set back mid-retries");
  assert.equal(script.sent.length, 5, "four refusals, then delivered: no attempt lost or doubled");
  assert.ok(
    script.sent.slice(2).every((x) => x.at < (script.sent[1]?.at ?? 0)),
    `the later attempts happened at the earlier wall time: ${JSON.stringify(script.sent.map((x) => x.at))}`,
  );
  assert.equal(worker.stats().dead, 0);
  assert.ok(
    time.sleeps.every((ms) => ms < HOUR),
    "no sleep waited for the wall clock to catch up with the two hours it lost",
  );
});

test("rows older than max_age are dead-lettered instead of retried forever", async () => {
  const { outbox, script, worker, time } = setup();
  const created = time.now();
  const a = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, retries(10_000));
  worker.start();
  await turnsUntil("dead after max_age", () => outbox.rows[0]?.state === "dead");
  await worker.stop();
  assert.ok(time.now() - created >= 24 * HOUR, "not before max_age");
  assert.ok(time.now() - created < 24 * HOUR + 300_000, "at max_age, not a full backoff later");
  assert.match(
    outbox.rows[0]?.last_error ?? "",
    /^older than max_age 1d \(last error: HTTP 503 from http:\/\/127\.0\.0\.1:1\)$/,
  );
  // about 24 h / 2.5 min average delay, give or take: it kept trying all along
  assert.ok(script.sent.length > 250, `attempts ${script.sent.length}`);
});

test("a row already older than max_age when the worker starts is dead-lettered without an attempt", async () => {
  const { outbox, script, worker, time } = setup({ sink: hookSink({ maxAgeMs: 60_000 }) });
  outbox.append("hook", makeAction(), makePeer("sidecar"), time.now() - 61_000);
  outbox.append("hook", makeAction());
  worker.start();
  await turnsUntil("drained", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal(script.sent.length, 1);
  assert.equal(outbox.rows[0]?.last_error, "older than max_age 1m");
});

test("a restart is sent when it is decided, and its result follows when the store announces it", async () => {
  const rig = setup();
  const { outbox, script, worker, time } = rig;
  const { action: restart, t0 } = appendWithEffect(rig, "restart", "HIGH");
  // The decision leaves at once, without a result; then one wait for the result (never a poll).
  await turnsUntil("waiting for the effect", () => time.sleeps.length === 1);
  assert.equal(script.sent.length, 1);
  const decided = script.sent[0] as Sent;
  assert.equal(decided.at, t0, "sent without waiting for the restart");
  assert.equal(decided.body["result"], undefined);
  assert.equal(decided.body["id"], restart.id);
  assert.equal(outbox.depth()["hook"]?.pending, 1, "the row stays until the result is out");
  outbox.finishEffect(restart.id, { ok: false, error: "unit failed to start" });
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal(script.sent.length, 2);
  const followUp = script.sent[1] as Sent;
  assert.equal(followUp.body["id"], `${restart.id}.result`, "its own id: receivers that dedupe keep both");
  assert.equal(followUp.body["incident_id"], restart.incident_id, "same incident");
  assert.deepEqual(followUp.body["result"], { ok: false, error: "unit failed to start" });
});

test("an isolation is sent when the store announces its result (no polling)", async () => {
  const rig = setup();
  const { outbox, script, worker, time } = rig;
  const { action: restart, t0 } = appendWithEffect(rig, "isolate", "CRITICAL");
  // The worker waits for the result up to the give-up bound, in one wait (never a poll).
  await turnsUntil("waiting for the effect", () => time.sleeps.length === 1);
  assert.deepEqual(time.sleeps, [60_000]);
  outbox.finishEffect(restart.id, {
    ok: true,
    detail: "systemctl set-property sidecar.service IPAddressDeny=any",
    main_pid: 4242,
  });
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal(script.sent.length, 1);
  const sent = script.sent[0] as Sent;
  assert.equal(sent.at, t0, "sent as soon as the result was announced");
  assert.deepEqual(sent.body["result"], {
    ok: true,
    detail: "systemctl set-property sidecar.service IPAddressDeny=any",
    main_pid: 4242,
  });
  assert.equal(outbox.listenerCount, 1, "only the test's onAppend is left after stop");
});

test("an effect that never finishes does not hold alerts back longer than effectWaitMs", async () => {
  const rig = setup({ effectWaitMs: 10_000 });
  const { outbox, script, worker } = rig;
  const { t0 } = appendWithEffect(rig, "isolate", "CRITICAL");
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal((script.sent[0] as Sent).at - t0, 10_000);
  assert.equal((script.sent[0] as Sent).body["result"], undefined);
});

test("actions without an effect record (no executor) are sent at once", async () => {
  const { outbox, script, worker, time } = setup();
  const t0 = time.now();
  outbox.append("hook", makeAction({ action: "restart", severity: "HIGH" }));
  worker.start();
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal((script.sent[0] as Sent).at, t0);
});

test("an idle worker wakes on append; start/stop are idempotent; stop leaves nothing waiting", async () => {
  const { outbox, script, worker } = setup();
  worker.start();
  worker.start();
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
  assert.equal(script.sent.length, 0);
  outbox.append("hook", makeAction());
  await turnsUntil(
    "woken and delivered",
    () => script.sent.length === 1 && outbox.depth()["hook"]?.pending === 0,
  );
  await worker.stop();
  await worker.stop();
  assert.equal(worker.isRunning, false);
  outbox.append("hook", makeAction());
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
  assert.equal(script.sent.length, 1, "a stopped worker sends nothing");
  worker.start();
  await turnsUntil("restarted worker delivers", () => script.sent.length === 2);
  await worker.stop();
});

test("stop() during a request aborts it and leaves the row pending (at-least-once)", async () => {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const outbox = new MemoryOutbox(() => time.now());
  let inFlight = false;
  const worker = new SinkWorker({
    sink: hookSink(),
    outbox,
    clock: time,
    send: (_req, opts) =>
      new Promise<DeliveryOutcome>((resolve) => {
        inFlight = true;
        opts.signal?.addEventListener("abort", () => resolve({ kind: "aborted" }), { once: true });
      }),
  });
  outbox.append("hook", makeAction());
  worker.start();
  await turnsUntil("request in flight", () => inFlight);
  await worker.stop();
  assert.equal(outbox.rows[0]?.state, "pending");
  assert.equal(outbox.rows[0]?.attempts, 0);
  assert.deepEqual(outbox.calls, []);
});

test("an outbox that throws is logged and retried, never ending the loop", async () => {
  const { outbox, worker, logger, script } = setup({ storeRetryMs: 1000 });
  let failures = 2;
  const head = outbox.head.bind(outbox);
  outbox.head = (sink: string) => {
    if (failures > 0) {
      failures--;
      throw new Error("database is locked");
    }
    return head(sink);
  };
  outbox.append("hook", makeAction());
  worker.start();
  await turnsUntil(
    "delivered after store errors",
    () => script.sent.length === 1 && outbox.depth()["hook"]?.pending === 0,
  );
  await worker.stop();
  assert.equal(logger.lines.filter((l) => l.startsWith("error alert outbox failed")).length, 2);
});

test("only rows of the worker's own sink are sent", async () => {
  const { outbox, script, worker } = setup();
  outbox.append("other", makeAction());
  const mine = outbox.append("hook", makeAction()).action.id;
  worker.start();
  await turnsUntil("delivered", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.deepEqual(
    script.sent.map((s) => s.id),
    [mine],
  );
  assert.equal(outbox.depth()["other"]?.pending, 1);
});

test("invalid sinks are refused at construction with the field named", () => {
  const outbox = new MemoryOutbox();
  assert.throws(
    () => new SinkWorker({ sink: hookSink({ url: "ftp://x" }), outbox }),
    /alerts\.hook\.url: must be an http\(s\) URL/,
  );
  assert.throws(
    () =>
      new SinkWorker({ sink: { ...hookSink(), kind: "pagerduty", routingKey: "" } as SinkConfig, outbox }),
    /routing_key/,
  );
});

test("a (re)started worker tries the head row at once instead of waiting out its old backoff", async () => {
  const { outbox, script, worker, time } = setup({ random: () => 0.9999999 });
  const a = outbox.append("hook", makeAction()).action.id;
  script.plan.set(a, retries(6));
  worker.start();
  await turnsUntil("six failed attempts", () => script.sent.length === 6);
  await worker.stop();
  // The row now waits ~64 s; a restart (new process, same outbox) tries right away.
  const stoppedAt = time.now();
  worker.start();
  await turnsUntil("delivered after restart", () => outbox.depth()["hook"]?.pending === 0);
  await worker.stop();
  assert.equal(script.sent.length, 7);
  assert.equal((script.sent[6] as Sent).at, stoppedAt, "attempted without waiting");
});

test("a sink's own retry policy sets its delays (the default is 1 s doubling to 5 min)", async () => {
  const delays = async (over: Partial<SinkConfig>): Promise<number[]> => {
    const { outbox, script, worker, time } = setup({ sink: hookSink(over) });
    const a = makeAction();
    script.plan.set(a.id, [retry(), retry(), retry(), retry()]);
    outbox.append("hook", a);
    worker.start();
    await turnsUntil("delivered after 4 retries", () => outbox.depth()["hook"]?.pending === 0);
    await worker.stop();
    return time.sleeps;
  };
  // random() = 0.5 with full jitter: half of min(max, initial × 2^(n−1)).
  assert.deepEqual(await delays({}), [500, 1_000, 2_000, 4_000]);
  assert.deepEqual(
    await delays({ retry: { initialMs: 10_000, maxMs: 30_000 } }),
    [5_000, 10_000, 15_000, 15_000],
  );
});
