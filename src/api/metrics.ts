// Prometheus metrics of a node, on a private Registry (never prom-client's global one,
// so several nodes in one process, or tests, don't collide). The daemon updates the
// handles; GET /metrics serves `text()`. Durations are in seconds, per Prometheus habit.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PeerStatus } from "../core/types.js";

const STATUSES: readonly PeerStatus[] = ["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"];

/** Outcomes of one delivery attempt (wdmesh_deliveries_total{outcome}). */
export const DELIVERY_OUTCOMES = ["delivered", "retry", "dead"] as const;
export type DeliveryOutcomeLabel = (typeof DELIVERY_OUTCOMES)[number];

const LINT_FAILING_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export interface Metrics {
  readonly registry: Registry;
  /** Time from the start of a probe to its verdict, seconds, per peer. */
  readonly probeDuration: Histogram<"peer">;
  /** How late a probe started against its schedule, seconds. */
  readonly probeLateness: Histogram;
  /** 1 for the peer's current status, 0 for the others; set through setPeerStatus. */
  readonly peerStatus: Gauge<"peer" | "status">;
  readonly checks: Counter<"peer">;
  readonly misses: Counter<"peer">;
  /** Probes that could not tell (this node's own trouble), per peer; never counted as misses. */
  readonly inconclusive: Counter<"peer">;
  /** 1 while this node is degraded (too slow to trust its own deadlines), else 0. */
  readonly selfDegraded: Gauge;
  /** This node's event-loop delay p99 over the self-health window, seconds. */
  readonly loopDelayP99: Gauge;
  /** 1 when the last configuration reload was applied (or none was tried since start), 0 when it was refused. */
  readonly configReloadSuccessful: Gauge;
  /** When the configuration in force was last loaded successfully (start or reload), Unix seconds. */
  readonly configReloadSuccessTime: Gauge;
  /** Commits the state store refused (full disk, I/O error). */
  readonly storeErrors: Counter;
  /** 1 while the state store cannot commit (every remediation step is held), else 0. */
  readonly storeFailing: Gauge;
  /** This node's probe start lateness p99 over the self-health window, seconds. */
  readonly latenessP99: Gauge;
  readonly restarts: Counter<"peer">;
  readonly isolations: Counter<"peer">;
  /** Remediation steps held (no quorum, etcd, the ledger, this node's own trouble), per peer. */
  readonly remediationHeld: Counter<"peer">;
  /** Remediation effects (restart, isolate, release) that failed. */
  readonly actionFailures: Counter<"action">;
  /** Outbox rows per sink and state (pending, dead). */
  readonly outboxDepth: Gauge<"sink" | "state">;
  /** Delivery attempts per sink and outcome (delivered, retry, dead). */
  readonly deliveries: Counter<"sink" | "outcome">;
  /** Open API connections (sockets), against node.max_connections. */
  readonly apiConnections: Gauge;
  /** API connections refused because node.max_connections were open. */
  readonly apiConnectionsRefused: Counter;
  /** 1 while a mesh member answers its authenticated heartbeat (HEALTHY), else 0, per member. */
  readonly meshMemberUp: Gauge<"member">;
  /** A mesh member's clock minus this node's, seconds, measured from the view exchange; absent until measured. */
  readonly meshMemberClockOffset: Gauge<"member">;
  /** Probes waiting for a concurrency slot now (more than 0 for long: the node is overloaded). */
  readonly probesQueued: Gauge;
  /** Probes running now. */
  readonly probesInFlight: Gauge;
  /** Open event streams (GET /v1/events/stream). */
  readonly sseClients: Gauge;
  /** Event streams dropped for exceeding their budget (1 MiB unsent or 30 s undrained). */
  readonly sseDropped: Counter;
  /** Bytes written to event streams and not sent yet, over all clients (at most 1 MiB each). */
  readonly sseBufferedBytes: Gauge;
  setPeerStatus(peer: string, status: PeerStatus): void;
  /**
   * Creates every per-peer series at 0 (counters, histogram, status UNKNOWN) when the peer
   * has none yet, so rates and increases are right from the first miss. Idempotent.
   */
  addPeer(peer: string): void;
  /** Creates the delivery counters of a sink at 0 for every outcome. */
  addSink(sink: string): void;
  /** Drops every series of a peer that is no longer registered. */
  removePeer(peer: string): void;
  /** Runs `fn` before each scrape (e.g. to refresh outbox depth). Returns unsubscribe. */
  beforeScrape(fn: () => void): () => void;
  /** The exposition text; runs the beforeScrape hooks first. */
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Also export process_* and nodejs_* metrics. Default true. */
  processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges *_total, which Prometheus reserves for counters
    // (promtool rejects them); the same figures stay available without the suffix.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }

  const probeDuration = new Histogram({
    name: "wdmesh_probe_duration_seconds",
    help: "Time from the start of a probe to its verdict, in seconds.",
    labelNames: ["peer"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const probeLateness = new Histogram({
    name: "wdmesh_probe_lateness_seconds",
    help: "How much later than scheduled a probe started, in seconds.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const peerStatus = new Gauge({
    name: "wdmesh_peer_status",
    help: "Current status of each peer: 1 for its status, 0 for the others.",
    labelNames: ["peer", "status"] as const,
    registers: [registry],
  });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const checks = counter("wdmesh_checks_total", "Probes completed, per peer.", ["peer"]);
  const misses = counter("wdmesh_misses_total", "Probes that missed (failed), per peer.", ["peer"]);
  const inconclusive = counter(
    "wdmesh_probes_inconclusive_total",
    "Probes that could not tell, per peer: they failed for a reason local to this node (fd exhaustion, a failed spawn) or ran out while this node was stalled. Not misses.",
    ["peer"],
  );
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers: [registry] });
  const selfDegraded = gauge(
    "wdmesh_self_degraded",
    "1 while this node is degraded (its own loop delay or probe lateness is above its threshold; remediation is held), else 0.",
  );
  const configReloadSuccessful = gauge(
    "wdmesh_config_last_reload_successful",
    "1 when the last configuration reload was applied (or none was tried since the node started), 0 when it was refused.",
  );
  const configReloadSuccessTime = gauge(
    "wdmesh_config_last_reload_success_timestamp_seconds",
    "When the configuration in force was last loaded successfully (start or reload), in Unix seconds.",
  );
  const storeErrors = new Counter({
    name: "wdmesh_store_errors_total",
    help: "Commits the state store refused (full disk, read-only or failing data_dir).",
    registers: [registry],
  });
  const storeFailing = gauge(
    "wdmesh_store_failing",
    "1 while the state store cannot commit (every remediation step is held and peers keep their last committed state), else 0.",
  );
  const loopDelayP99 = gauge(
    "wdmesh_loop_delay_p99_seconds",
    "This node's event-loop delay p99 over the self-health window, in seconds.",
  );
  const latenessP99 = gauge(
    "wdmesh_lateness_p99_seconds",
    "This node's probe start lateness p99 over the self-health window, in seconds.",
  );
  const restarts = counter("wdmesh_restarts_total", "Restarts issued, per peer.", ["peer"]);
  const isolations = counter("wdmesh_isolations_total", "Isolations issued, per peer.", ["peer"]);
  const remediationHeld = counter(
    "wdmesh_remediation_held_total",
    "Remediation steps held instead of performed (no quorum, etcd unreachable, the step ledger, this node's own trouble), per peer.",
    ["peer"],
  );
  const actionFailures = counter(
    "wdmesh_action_failures_total",
    "Remediation effects that failed, per action.",
    ["action"],
  );
  const deliveries = counter("wdmesh_deliveries_total", "Alert delivery attempts, per sink and outcome.", [
    "sink",
    "outcome",
  ]);
  const outboxDepth = new Gauge({
    name: "wdmesh_outbox_depth",
    help: "Alert outbox rows, per sink and state.",
    labelNames: ["sink", "state"] as const,
    registers: [registry],
  });

  const apiConnections = new Gauge({
    name: "wdmesh_api_connections",
    help: "Open API connections (sockets); at node.max_connections new ones are refused.",
    registers: [registry],
  });
  const apiConnectionsRefused = new Counter({
    name: "wdmesh_api_connections_refused_total",
    help: "API connections refused because node.max_connections were open.",
    registers: [registry],
  });

  const meshMemberUp = new Gauge({
    name: "wdmesh_mesh_member_up",
    help: "1 while a mesh member answers its authenticated heartbeat, else 0, per member.",
    labelNames: ["member"] as const,
    registers: [registry],
  });
  const meshMemberClockOffset = new Gauge({
    name: "wdmesh_mesh_member_clock_offset_seconds",
    help: "A mesh member's clock minus this node's, seconds, measured from the view exchange (± half its round trip).",
    labelNames: ["member"] as const,
    registers: [registry],
  });
  const probesQueued = new Gauge({
    name: "wdmesh_probes_queued",
    help: "Probes waiting for a concurrency slot now.",
    registers: [registry],
  });
  const probesInFlight = new Gauge({
    name: "wdmesh_probes_in_flight",
    help: "Probes running now.",
    registers: [registry],
  });

  const peers = new Set<string>();
  const sseClients = new Gauge({
    name: "wdmesh_sse_clients",
    help: "Open event streams (GET /v1/events/stream).",
    registers: [registry],
  });
  const sseDropped = new Counter({
    name: "wdmesh_sse_dropped_total",
    help: "Event streams dropped because the client did not keep up (1 MiB unsent or 30 s without draining); it resumes with Last-Event-ID.",
    registers: [registry],
  });
  const sseBufferedBytes = new Gauge({
    name: "wdmesh_sse_buffered_bytes",
    help: "Bytes written to event streams and not sent yet, over all clients: frames queued for full sockets and the sockets' write buffers. At most 1 MiB per client; a client past it is dropped.",
    registers: [registry],
  });

  const hooks = new Set<() => void>();
  return {
    registry,
    probeDuration,
    probeLateness,
    peerStatus,
    checks,
    misses,
    inconclusive,
    selfDegraded,
    storeErrors,
    storeFailing,
    configReloadSuccessful,
    configReloadSuccessTime,
    loopDelayP99,
    latenessP99,
    restarts,
    isolations,
    remediationHeld,
    actionFailures,
    outboxDepth,
    deliveries,
    apiConnections,
    apiConnectionsRefused,
    meshMemberUp,
    meshMemberClockOffset,
    probesQueued,
    probesInFlight,
    sseClients,
    sseDropped,
    sseBufferedBytes,
    setPeerStatus(peer, status) {
      for (const s of STATUSES) peerStatus.set({ peer, status: s }, s === status ? 1 : 0);
    },
    addPeer(peer) {
      if (peers.has(peer)) return;
      peers.add(peer);
      for (const c of [checks, misses, inconclusive, restarts, isolations, remediationHeld])
        c.inc({ peer }, 0);
      probeDuration.zero({ peer });
      for (const s of STATUSES) peerStatus.set({ peer, status: s }, s === "UNKNOWN" ? 1 : 0);
    },
    addSink(sink) {
      for (const outcome of DELIVERY_OUTCOMES) deliveries.inc({ sink, outcome }, 0);
    },
    removePeer(peer) {
      peers.delete(peer);
      for (const s of STATUSES) peerStatus.remove({ peer, status: s });
      for (const c of [checks, misses, inconclusive, restarts, isolations, remediationHeld])
        c.remove({ peer });
      probeDuration.remove({ peer });
    },
    beforeScrape(fn) {
      hooks.add(fn);
      return () => hooks.delete(fn);
    },
    async text() {
      for (const h of hooks) h();
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
