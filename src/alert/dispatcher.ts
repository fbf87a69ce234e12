// Composition of the alerting side: one SinkWorker per configured sink, all reading the
// same durable outbox, sharing one HTTP connection pool that stop() closes.
import { iso } from "../core/duration.js";
import type { Clock } from "../core/clock.js";
import { systemClock } from "../schedule/clock.js";
import { randomUUID } from "node:crypto";
import { Agent } from "undici";
import { InvalidOptionError, WatchdogError } from "../core/errors.js";
import { SEVERITY_RANK, type EscalationAction, type PeerHealth } from "../core/types.js";
import { initialState } from "../core/ladder.js";
import { toPeerHealth } from "../core/peer-health.js";
import type { OutboxPort } from "../store/types.js";
import { silentLogger, type Logger } from "../core/logger.js";
import type { BackoffPolicy } from "./backoff.js";
import { deliver, type DeliverOptions, type DeliveryOutcome, type PostRequest } from "./deliver.js";
import type { SinkConfig } from "./sink-config.js";
import { buildRequest } from "./sink-request.js";
import type { AlertHosts } from "./alert-identity.js";
import { SinkWorker, type AttemptOutcome, type SinkStats } from "./worker.js";

export interface AlertingOptions {
  sinks: SinkConfig[];
  outbox: OutboxPort;
  logger?: Logger;
  /** Time and sleeps of the workers. Default: the system clock. */
  clock?: Clock;
  /** This node's name, on test events. Default "wdmesh". */
  node?: string;
  /** Alertmanager generatorURL, e.g. this node's dashboard URL. Optional. */
  generatorURL?: string;
  /** Where this node and its peers run (the alerts' host label and dedup_key). Default: the machine's host name. */
  hosts?: AlertHosts;
  /** Retry delays (defaults 1 s → 5 min, full jitter); tests and benchmarks compress them. */
  backoff?: Partial<BackoffPolicy>;
  /** Wait at most this long after an action for its effect's result, ms. Default 60 000. */
  effectWaitMs?: number;
  /** Most delivered rows whose marks are written in one transaction, rows. Default 100 (1: each at once). */
  deliveredBatch?: number;
  /** Longest a delivered row's mark is held before it is written, ms. Default 100. */
  deliveredFlushMs?: number;
  /** Hides secrets in receivers' answers before they are cut short (the node's redactor). */
  redact?: (text: string) => string;
  /** Replaces the HTTP layer (tests). */
  send?: (req: PostRequest, opts: DeliverOptions) => Promise<DeliveryOutcome>;
  /** Called after every send attempt of a sink with its outcome (metrics). Must not throw. */
  onAttempt?: (sink: string, outcome: AttemptOutcome) => void;
}

export interface SendTestResult {
  ok: boolean;
  status?: number;
  error?: string;
}

export interface Alerting {
  start(): void;
  stop(): Promise<void>;
  stats(): SinkStats[];
  /**
   * Replaces the sinks (config reload): unchanged ones keep their worker, changed ones get
   * a new one, removed ones stop. Their pending rows are the caller's to settle.
   */
  setSinks(sinks: SinkConfig[]): Promise<void>;
  /** Sends a test event straight to one sink, bypassing the outbox (`wdmesh alerts test SINK`). */
  sendTest(sinkName: string): Promise<SendTestResult>;
  /**
   * Sends `action` once, straight to every sink whose min_severity it reaches, bypassing
   * the outbox (for what cannot go through it: the store's own failure). Best effort: one
   * attempt per sink, each within its timeout; resolves with each sink's outcome, never throws.
   */
  sendDirect(action: EscalationAction, peer: PeerHealth): Promise<Array<{ sink: string } & SendTestResult>>;
}

function sendResult(out: DeliveryOutcome): SendTestResult {
  switch (out.kind) {
    case "delivered":
      return { ok: true, status: out.status };
    case "dead":
      return { ok: false, status: out.status, error: out.error };
    case "retry":
      return { ok: false, ...(out.status !== undefined ? { status: out.status } : {}), error: out.error };
    case "aborted":
      return { ok: false, error: "aborted" };
  }
}

function testPeer(node: string): PeerHealth {
  return toPeerHealth("wdmesh-test", "", initialState(), node);
}

export function createAlerting(opts: AlertingOptions): Alerting {
  const logger = opts.logger ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const base = opts.send ?? deliver;
  const redact = opts.redact;
  const send = redact
    ? (req: PostRequest, o: DeliverOptions): Promise<DeliveryOutcome> => base(req, { ...o, redact })
    : base;
  const uniqueNames = (sinks: readonly SinkConfig[]): Set<string> => {
    const seen = new Set<string>();
    for (const s of sinks) {
      if (seen.has(s.name)) throw new InvalidOptionError(`alerts.${s.name}`, "sink names must be unique");
      seen.add(s.name);
    }
    return seen;
  };
  let names = uniqueNames(opts.sinks);
  let sinks = [...opts.sinks];
  const newWorker = (sink: SinkConfig): SinkWorker =>
    new SinkWorker({
      sink,
      outbox: opts.outbox,
      logger,
      clock,
      send,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.effectWaitMs !== undefined ? { effectWaitMs: opts.effectWaitMs } : {}),
      ...(opts.deliveredBatch !== undefined ? { deliveredBatch: opts.deliveredBatch } : {}),
      ...(opts.deliveredFlushMs !== undefined ? { deliveredFlushMs: opts.deliveredFlushMs } : {}),
      ...(opts.generatorURL ? { generatorURL: opts.generatorURL } : {}),
      ...(opts.hosts ? { hosts: opts.hosts } : {}),
      ...(opts.onAttempt ? { onAttempt: (o: AttemptOutcome) => opts.onAttempt?.(sink.name, o) } : {}),
    });
  let workers = sinks.map(newWorker);
  let agent: Agent | null = null;
  let unsubscribe: (() => void) | null = null;
  let stopping: Promise<void> | null = null;

  function ensureAgent(): Agent {
    agent ??= new Agent({ keepAliveTimeout: 10_000, connections: 4 });
    return agent;
  }

  /** Posts `actions` to `sink` in order, once each, bypassing the outbox; stops at the first not delivered. */
  async function sendNow(
    sink: SinkConfig,
    actions: readonly EscalationAction[],
    peer: PeerHealth,
    startsAt: string,
  ): Promise<SendTestResult> {
    const dispatcher = agent ?? new Agent({ connections: 1 });
    try {
      let last: DeliveryOutcome = { kind: "aborted" };
      for (const a of actions) {
        const req = buildRequest(sink, a, peer, {
          nowMs: clock.now(),
          startsAt,
          ...(opts.hosts ? { hosts: opts.hosts } : {}),
        });
        last = await send(req, { timeoutMs: sink.timeoutMs, dispatcher, now: () => clock.now() });
        if (last.kind !== "delivered") break;
      }
      return sendResult(last);
    } finally {
      if (dispatcher !== agent) await dispatcher.close();
    }
  }

  return {
    start() {
      if (unsubscribe) return;
      const a = ensureAgent();
      for (const w of workers) {
        w.dispatcher = a;
        w.start();
      }
      unsubscribe = opts.outbox.onAppend(() => {
        for (const w of workers) w.wake();
      });
    },

    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        unsubscribe?.();
        unsubscribe = null;
        await Promise.all(workers.map((w) => w.stop()));
        const a = agent;
        agent = null;
        await a?.close();
      })().finally(() => {
        stopping = null;
      });
      return stopping;
    },

    async setSinks(next) {
      const nextNames = uniqueNames(next);
      const kept = new Map<string, SinkWorker>();
      for (const w of workers) {
        const n = next.find((s) => s.name === w.sink.name);
        if (n && JSON.stringify(n) === JSON.stringify(w.sink)) kept.set(n.name, w);
      }
      // Validate every new sink before anything changes (the constructor checks it).
      const fresh = next.filter((s) => !kept.has(s.name)).map(newWorker);
      // A changed sink's old worker stops before its new one starts: never two on one queue.
      await Promise.all(workers.filter((w) => !kept.has(w.sink.name)).map((w) => w.stop()));
      workers = next.map(
        (s) => kept.get(s.name) ?? (fresh.find((w) => w.sink.name === s.name) as SinkWorker),
      );
      sinks = [...next];
      names = nextNames;
      if (unsubscribe) {
        const a = ensureAgent();
        for (const w of fresh) {
          w.dispatcher = a;
          w.start();
        }
      }
    },

    stats() {
      return workers.map((w) => w.stats());
    },

    async sendDirect(action, peer) {
      const targets = sinks.filter((s) => SEVERITY_RANK[action.severity] >= SEVERITY_RANK[s.minSeverity]);
      return Promise.all(
        targets.map(async (sink) => {
          const out = await sendNow(sink, [action], peer, action.timestamp).catch(
            (err: unknown): SendTestResult => ({ ok: false, error: String(err) }),
          );
          if (!out.ok) {
            logger.warn(
              { sink: sink.name, action: action.action, err: out.error },
              "direct alert not delivered",
            );
          }
          return { sink: sink.name, ...out };
        }),
      );
    },

    async sendTest(sinkName) {
      const sink = sinks.find((s) => s.name === sinkName);
      if (!sink) {
        throw new WatchdogError(
          "WDM_INVALID_OPTION",
          `no alert sink named "${sinkName}"; configured sinks: ${[...names].join(", ") || "(none)"}`,
          "sink",
        );
      }
      const node = opts.node ?? "wdmesh";
      const now = clock.now();
      const id = `test-${randomUUID()}`;
      const fire: EscalationAction = {
        timestamp: iso(now),
        peer_name: "wdmesh-test",
        action: "alert",
        reason: "test alert sent by `wdmesh alerts test`; no action needed",
        severity: "INFO",
        id,
        incident_id: id,
        node,
      };
      // Sinks that keep incidents open (Alertmanager, PagerDuty) get the resolution too.
      const keepsOpen =
        sink.kind === "alertmanager" ||
        sink.kind === "pagerduty" ||
        (sink.kind === "webhook" && sink.format === "pagerduty");
      const actions = keepsOpen
        ? [fire, { ...fire, id: `${id}-resolve`, action: "recovered" as const }]
        : [fire];
      return sendNow(sink, actions, testPeer(node), fire.timestamp);
    },
  };
}
