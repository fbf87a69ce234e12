// One delivery worker per sink. It takes the oldest pending outbox row of its sink, waits
// until the row's next_attempt_at, sends it, and records the outcome; strictly in order
// (head-of-line: a row that cannot be delivered holds back the rows behind it, so a
// receiver never sees "recovered" before the "restart" it resolves).
//
//  - A row older than the sink's max_age is dead-lettered instead of retried.
//  - An action that asked for an effect (restart / isolate / release) waits for the
//    effect's result, so the alert says what happened. The store announces each result
//    (onEffectResult), which wakes the worker; it never polls. An effect still pending
//    `effectWaitMs` after the row was created (a hung executor) is sent without.
//    A restart is sent twice: when it is decided (without a result, so the page does not
//    wait for the restart to finish), then with its result, as a follow-up of the same
//    incident whose id is the action's id + ".result" (receivers that dedupe on the id keep
//    both). A restart that finished before the worker reached it is sent once, with its result.
//  - The worker sleeps while idle and is woken by outbox.onAppend (the dispatcher wires it).
//  - Store errors are logged and retried after `storeRetryMs`; they never end the loop.
//  - Delivered marks are batched when the outbox supports it (markDeliveredMany): at most
//    `deliveredBatch` rows or `deliveredFlushMs` ms are held before one transaction writes
//    them, and they are written before the worker waits, retries, dead-letters or stops.
//    Draining a backlog then costs one disk sync per batch instead of one per alert. If the
//    watchdog dies in between, those alerts are sent again (at-least-once; receivers
//    dedupe on id).
import type { Clock } from "../core/clock.js";
import { systemClock } from "../schedule/clock.js";
import type { Dispatcher } from "undici";
import { formatDuration, iso } from "../core/duration.js";
import { InvalidOptionError } from "../core/errors.js";
import type { ActionResult, EscalationAction } from "../core/types.js";
import type { OutboxPort, OutboxRow } from "../store/types.js";
import { silentLogger, type Logger } from "../core/logger.js";
import { AlertmanagerResender } from "./alertmanager-resender.js";
import { backoffDelay, resolveBackoff, type BackoffPolicy } from "./backoff.js";
import { deliver, type DeliverOptions, type DeliveryOutcome, type PostRequest } from "./deliver.js";
import type { SinkConfig } from "./sink-config.js";
import { buildRequest, validateSink, type RequestContext } from "./sink-request.js";
import type { AlertHosts } from "./alert-identity.js";
import { ALERT_WORKER_DEFAULTS } from "../core/defaults.js";

/** Actions whose alert should carry the outcome of the effect they asked for. */
const EFFECT_ACTIONS: ReadonlySet<string> = new Set(["restart", "isolate", "release"]);

/** Longest single timer, ms (setTimeout's limit is 2^31−1). */
const MAX_SLEEP_MS = 2_147_483_647;

export interface WorkerOptions {
  sink: SinkConfig;
  outbox: OutboxPort;
  logger?: Logger;
  /** Time and sleeps (its sleeps end on stop()). Default: the system clock. */
  clock?: Clock;
  /** Retry delays; defaults 1 s → 5 min, full jitter. */
  backoff?: Partial<BackoffPolicy>;
  /** [0, 1). Default Math.random. */
  random?: () => number;
  /** Wait for an effect's result at most this long after the row was created, ms. Default 60 000. */
  effectWaitMs?: number;
  /** Pause after the outbox itself failed (e.g. disk full), ms. Default 1 000. */
  storeRetryMs?: number;
  /** Most delivered rows held before their marks are written (one transaction), rows. Default 100; 1 = write each at once. */
  deliveredBatch?: number;
  /** Longest a delivered row's mark is held before it is written, ms. Default 100. */
  deliveredFlushMs?: number;
  /** Alertmanager generatorURL (e.g. this node's dashboard). Optional. */
  generatorURL?: string;
  /** Where this node and its peers run (the alerts' host). Default: the machine's host name. */
  hosts?: AlertHosts;
  /** undici dispatcher for the requests (the dispatcher owns and closes it). */
  dispatcher?: Dispatcher;
  /** Sends one request; default deliver(). */
  send?: (req: PostRequest, opts: DeliverOptions) => Promise<DeliveryOutcome>;
  /** Called after every send attempt with its outcome (metrics). Must not throw. */
  onAttempt?: (outcome: AttemptOutcome) => void;
}

/** What one send attempt came to: delivered, to be retried, or given up (dead-lettered). */
export type AttemptOutcome = "delivered" | "retry" | "dead";

export interface SinkStats {
  sink: string;
  kind: SinkConfig["kind"];
  /** Rows delivered by this process. */
  delivered: number;
  /** Failed attempts that will be retried, by this process. */
  retried: number;
  /** Rows dead-lettered by this process. */
  dead: number;
  last_error: string | null;
  /** Rows of this sink waiting in the outbox now. */
  pending: number;
  /** Dead rows of this sink in the outbox (all time). */
  dead_rows: number;
  /** Alertmanager only: successful re-sends of firing alerts. */
  resent?: number;
}

export function withResult(
  action: EscalationAction,
  result: ActionResult | null | undefined,
): EscalationAction {
  return result ? { ...action, result } : action;
}

export class SinkWorker {
  readonly sink: SinkConfig;
  private readonly outbox: OutboxPort;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;
  private readonly effectWaitMs: number;
  /** Unsubscribes from the store's effect results (set while running). */
  private offEffect: (() => void) | null = null;
  private readonly storeRetryMs: number;
  private readonly deliveredBatch: number;
  private readonly deliveredFlushMs: number;
  /** Rows delivered whose marks are not written yet, in seq order. */
  private unmarked: Array<{ seq: number; at: number }> = [];
  private readonly send: (req: PostRequest, opts: DeliverOptions) => Promise<DeliveryOutcome>;
  private readonly generatorURL: string | undefined;
  private readonly hosts: AlertHosts | undefined;
  private readonly onAttempt: ((outcome: AttemptOutcome) => void) | undefined;
  private readonly resender: AlertmanagerResender | null;
  dispatcher: Dispatcher | undefined;

  private running = false;
  private loop: Promise<void> | null = null;
  private woken = false;
  /**
   * Set by start(): the first attempt after a (re)start does not wait out the backoff
   * the row accumulated before — a restart of the watchdog is a natural moment to try the
   * receiver again, instead of sleeping up to the 5 min cap on a receiver that is back.
   */
  private attemptNow = false;
  /** A row whose chosen retry delay has fully passed although the wall clock says it is not due (set back). */
  private waited: number | null = null;
  private waitCtl: AbortController | null = null;
  /** The restart row whose decision was delivered; its result follows (in memory: a restart resends both). */
  private announced: number | null = null;
  private stopCtl: AbortController | null = null;
  /** Previous retry delay of the current head row (decorrelated jitter). */
  private prevDelay: { seq: number; ms: number } | null = null;

  private counters = { delivered: 0, retried: 0, dead: 0 };
  private lastError: string | null = null;

  constructor(opts: WorkerOptions) {
    validateSink(opts.sink);
    this.sink = opts.sink;
    this.outbox = opts.outbox;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    // The sink's own retry policy (config `retry:`) wins over the worker-wide one.
    this.policy = resolveBackoff({ ...opts.backoff, ...opts.sink.retry });
    this.random = opts.random ?? Math.random;
    this.effectWaitMs = opts.effectWaitMs ?? ALERT_WORKER_DEFAULTS.effectWaitMs;
    this.storeRetryMs = opts.storeRetryMs ?? ALERT_WORKER_DEFAULTS.storeRetryMs;
    const batch = opts.deliveredBatch ?? ALERT_WORKER_DEFAULTS.deliveredBatch;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) {
      throw new InvalidOptionError(
        "deliveredBatch",
        `must be an integer from 1 to 10000 rows (got ${String(batch)})`,
      );
    }
    const flushMs = opts.deliveredFlushMs ?? ALERT_WORKER_DEFAULTS.deliveredFlushMs;
    if (!Number.isFinite(flushMs) || flushMs < 0 || flushMs > 60_000) {
      throw new InvalidOptionError(
        "deliveredFlushMs",
        `must be a number of ms from 0 to 60000 (got ${String(flushMs)})`,
      );
    }
    // Without markDeliveredMany every mark is written at once.
    this.deliveredBatch = opts.outbox.markDeliveredMany ? batch : 1;
    this.deliveredFlushMs = flushMs;
    this.send = opts.send ?? deliver;
    this.generatorURL = opts.generatorURL;
    this.hosts = opts.hosts;
    this.onAttempt = opts.onAttempt;
    this.dispatcher = opts.dispatcher;
    this.resender =
      opts.sink.kind === "alertmanager"
        ? new AlertmanagerResender(opts.sink, opts.outbox, this.clock.now(), opts.generatorURL, opts.hosts)
        : null;
  }

  /** Starts the loop; idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.attemptNow = true;
    this.stopCtl = new AbortController();
    this.offEffect = this.outbox.onEffectResult(() => this.wake());
    this.loop = this.run();
  }

  /** Stops the loop, aborting any request in flight (its row stays pending); idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.offEffect?.();
    this.offEffect = null;
    this.stopCtl?.abort();
    this.waitCtl?.abort();
    const loop = this.loop;
    if (loop) await loop;
    this.loop = null;
    try {
      this.flushDelivered();
    } catch (err) {
      this.log.error(
        { sink: this.sink.name, rows: this.unmarked.length, err: (err as Error).message },
        "could not record delivered alerts at stop; they will be sent again (receivers dedupe on id)",
      );
    }
  }

  /** New rows were appended or an effect finished: stop waiting if idle. */
  wake(): void {
    this.woken = true;
    this.waitCtl?.abort();
  }

  get isRunning(): boolean {
    return this.running;
  }

  stats(): SinkStats {
    let pending = 0;
    let deadRows = 0;
    try {
      const d = this.outbox.depth()[this.sink.name];
      pending = Math.max(0, (d?.pending ?? 0) - this.unmarked.length);
      deadRows = d?.dead ?? 0;
    } catch {
      // A failing store is reported by the loop; stats stay best effort.
    }
    return {
      sink: this.sink.name,
      kind: this.sink.kind,
      ...this.counters,
      last_error: this.lastError ?? this.resender?.lastError ?? null,
      pending,
      dead_rows: deadRows,
      ...(this.resender ? { resent: this.resender.resent } : {}),
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        this.lastError = `outbox error: ${(err as Error).message}`;
        this.log.error(
          { sink: this.sink.name, err: (err as Error).message },
          "alert outbox failed; retrying",
        );
        await this.wait(this.storeRetryMs);
      }
    }
  }

  /** Waits `ms` (Infinity: until woken), ending early on wake() or stop(); true when it waited it all. */
  private async wait(ms: number): Promise<boolean> {
    if (!this.running || this.woken) return false;
    const ctl = new AbortController();
    this.waitCtl = ctl;
    try {
      if (ms === Infinity) {
        await new Promise<void>((resolve) =>
          ctl.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      } else {
        await this.clock.sleep(Math.min(Math.max(0, ms), MAX_SLEEP_MS), ctl.signal);
      }
      return !ctl.signal.aborted;
    } finally {
      if (this.waitCtl === ctl) this.waitCtl = null;
    }
  }

  /** Writes the held delivered marks (one transaction); keeps them when that fails. */
  private flushDelivered(): void {
    if (this.unmarked.length === 0) return;
    const marks = this.unmarked;
    if (marks.length === 1 || !this.outbox.markDeliveredMany) {
      for (const m of marks) this.outbox.markDelivered(m.seq, m.at);
    } else {
      this.outbox.markDeliveredMany(marks);
    }
    this.unmarked = [];
  }

  private async step(): Promise<void> {
    this.woken = false;
    if (this.unmarked.length >= this.deliveredBatch) this.flushDelivered();
    const row = this.outbox.head(this.sink.name, this.unmarked.at(-1)?.seq);
    const now = this.clock.now();
    if (!row || (row.next_attempt_at > now && !this.attemptNow)) this.flushDelivered(); // about to wait
    if (!row) {
      if (this.resender) {
        const due = this.resender.dueIn(now);
        if (due <= 0) {
          await this.resender.resend(now, (req) => this.post(req));
          return;
        }
        await this.wait(due);
        return;
      }
      await this.wait(Infinity);
      return;
    }

    const deadAt = row.created_at + this.sink.maxAgeMs;
    if (now >= deadAt) {
      const reason =
        `older than max_age ${formatDuration(this.sink.maxAgeMs)}` +
        (row.last_error ? ` (last error: ${row.last_error})` : "");
      this.markDead(row, reason, now);
      return;
    }
    if (row.next_attempt_at > now && !this.attemptNow && this.waited !== row.seq) {
      // The wall clock may have been set back since the retry was scheduled: never wait
      // longer than the delay that was chosen for it (this process's own choice, or the
      // longest backoff when the row was scheduled before a restart), then attempt it.
      const chosen = this.prevDelay?.seq === row.seq ? this.prevDelay.ms : this.policy.maxMs;
      const wallWait = Math.min(row.next_attempt_at, deadAt) - now;
      if (wallWait <= chosen) await this.wait(wallWait);
      else if (await this.wait(chosen)) this.waited = row.seq;
      return;
    }
    this.waited = null;

    let action = row.action;
    if (EFFECT_ACTIONS.has(action.action) && !action.result) {
      const effect = this.outbox.effect(action.id);
      if (effect?.status === "pending") {
        const giveUpAt = row.created_at + this.effectWaitMs;
        if (now < giveUpAt) {
          if (action.action === "restart" && this.announced !== row.seq) {
            await this.announce(row, action, now);
            return;
          }
          this.flushDelivered();
          // Woken when the store announces the result; never longer than effectWaitMs (the clock may be set back).
          await this.wait(Math.min(giveUpAt - now, this.effectWaitMs));
          return;
        }
      }
      action = withResult(action, effect?.result);
      if (this.announced === row.seq) {
        this.announced = null;
        // The decision is out; the follow-up says what happened (nothing new without a result).
        if (!action.result) {
          this.record(row, { kind: "delivered", status: 0 });
          return;
        }
        action = { ...action, id: `${action.id}.result` };
      }
    }

    const req = buildRequest(this.sink, action, row.peer, this.context(row, now));
    this.attemptNow = false;
    const out = await this.post(req);
    this.record(row, out);
    if (out.kind === "delivered") this.resender?.noteDelivered(action.incident_id, row.peer);
  }

  /** Sends a restart as soon as it is decided; the row stays at the head for its result. */
  private async announce(row: OutboxRow, action: EscalationAction, now: number): Promise<void> {
    const req = buildRequest(this.sink, action, row.peer, this.context(row, now));
    this.attemptNow = false;
    const out = await this.post(req);
    if (out.kind !== "delivered") {
      this.record(row, out);
      return;
    }
    this.onAttempt?.("delivered");
    this.announced = row.seq;
    this.resender?.noteDelivered(action.incident_id, row.peer);
  }

  private context(row: OutboxRow, nowMs: number): RequestContext {
    const out: RequestContext = { nowMs, ...(this.hosts ? { hosts: this.hosts } : {}) };
    if (this.sink.kind !== "alertmanager") return out;
    if (this.generatorURL) out.generatorURL = this.generatorURL;
    const id = row.action.incident_id;
    if (id !== null) {
      const inc = this.outbox.openIncidents().find((i) => i.incident_id === id);
      const at = iso(inc?.opened_at);
      if (at) out.startsAt = at;
    }
    return out;
  }

  private post(req: PostRequest): Promise<DeliveryOutcome> {
    return this.send(req, {
      timeoutMs: this.sink.timeoutMs,
      now: () => this.clock.now(),
      ...(this.stopCtl ? { signal: this.stopCtl.signal } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    });
  }

  private record(row: OutboxRow, out: DeliveryOutcome): void {
    const now = this.clock.now();
    const ids = {
      sink: this.sink.name,
      seq: row.seq,
      id: row.action.id,
      peer: row.action.peer_name,
      action: row.action.action,
    };
    // stop(): the row stays pending and is sent again next time (at-least-once).
    if (out.kind === "aborted") return;
    this.onAttempt?.(out.kind);
    switch (out.kind) {
      case "delivered": {
        this.unmarked.push({ seq: row.seq, at: now });
        const oldest = this.unmarked[0] as { at: number };
        if (this.unmarked.length >= this.deliveredBatch || now - oldest.at >= this.deliveredFlushMs)
          this.flushDelivered();
        this.counters.delivered++;
        this.prevDelay = null;
        if (row.attempts > 0)
          this.log.info({ ...ids, attempts: row.attempts + 1 }, "alert delivered after retries");
        return;
      }
      case "dead":
        this.markDead(row, out.error, now);
        return;
      case "retry": {
        this.flushDelivered();
        const attempt = row.attempts + 1;
        const prev = this.prevDelay?.seq === row.seq ? this.prevDelay.ms : undefined;
        const delay = out.retryAfterMs ?? backoffDelay(attempt, this.policy, this.random, prev);
        this.prevDelay = { seq: row.seq, ms: delay };
        this.outbox.markRetry(row.seq, now + delay, out.error);
        this.counters.retried++;
        const changed = this.lastError !== out.error;
        this.lastError = out.error;
        // Log the first failure, every change of error, and then at powers of two.
        if (changed || (attempt & (attempt - 1)) === 0) {
          this.log.warn(
            { ...ids, attempt, retry_in_ms: delay, error: out.error },
            "alert delivery failed; will retry",
          );
        }
        return;
      }
    }
  }

  private markDead(row: OutboxRow, reason: string, now: number): void {
    this.flushDelivered();
    this.outbox.markDead(row.seq, reason, now);
    this.counters.dead++;
    this.lastError = reason;
    this.prevDelay = null;
    this.log.error(
      {
        sink: this.sink.name,
        seq: row.seq,
        id: row.action.id,
        peer: row.action.peer_name,
        action: row.action.action,
        reason,
      },
      "alert dead-lettered",
    );
  }
}
