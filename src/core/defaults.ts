// Every default of the product, written once: the library's options (Monitor, peers,
// self health, mesh), the daemon's config file (node, defaults, alerts) and the
// internal budgets the daemon runs with. Everything else reads these values: the
// Monitor and compilePolicy, config/resolve.ts, the config schema's descriptions (and
// so the published JSON Schema, generated from the same values by describeDefault),
// the executors, the alert worker and the API server. A unit is in every name
// (…Ms = milliseconds, …Bytes = bytes) or in the comment beside it.
// test/core/defaults.test.ts fails when a description and a value disagree or when a
// default is written again elsewhere in src/.
import { formatDuration } from "./duration.js";

/** Timing and escalation of a peer (TimingOptions; config `defaults:` and per-peer keys). */
export const TIMING_DEFAULTS = {
  /** How often a healthy peer is probed, ms (30 s). */
  intervalMs: 30_000,
  /** Deadline of one probe, ms (5 s), or `timeoutIntervalFraction` of a shorter interval. */
  timeoutMs: 5_000,
  /** With an interval shorter than timeoutMs, the default timeout is this fraction of it (80 %). */
  timeoutIntervalFraction: 0.8,
  /** K: consecutive misses before a restart (count). */
  missedBeforeRestart: 3,
  /** R: failed restarts in one incident before isolation (count). */
  restartsBeforeIsolate: 3,
  /** Backoff added after the first restart, ms (10 s); doubled for each next restart. */
  backoffInitialMs: 10_000,
  /** Cap of the doubling restart backoff, ms (5 min). */
  backoffMaxMs: 300_000,
  /** A peer HEALTHY this long gets its restart count back to 0, ms (10 min). */
  stableAfterMs: 600_000,
  /** Consecutive ok probes needed to count as recovered (count). */
  successThreshold: 1,
  // retryInterval and startupGrace default to the interval itself.
} as const;

/** Most probes in flight at once on one node (count). */
export const CONCURRENCY_DEFAULT = 256;

/** Probes (HttpProbeSpec, the HTTP prober). */
export const PROBE_DEFAULTS = {
  /** HTTP status that means alive. */
  expectStatus: 200,
  /** Cap of an HTTP/heartbeat response body, bytes (64 KiB); a larger body is a miss. */
  maxBodyBytes: 65_536,
  /** Keep-alive connections per origin the HTTP prober keeps (count). */
  maxConnectionsPerOrigin: 8,
  /**
   * Longest wait in the HTTP prober's queue behind other requests to the same origin, as
   * a fraction of the probe's deadline; the deadline itself starts when the request is
   * sent, so a probe takes at most deadline * (1 + this). Past it the probe is
   * inconclusive (`queued`: the peer was never asked).
   */
  queueWaitFraction: 0.1,
  /** Probes a round (checkAllPeers) starts per event-loop turn before it yields (count). */
  roundBatch: 64,
} as const;

/** The step ledger shared by the nodes of one host (LedgerOptions; config `node.ledger_dir`). */
export const LEDGER_DEFAULTS = {
  /** Directory of the ledger file (created 0700); the WDMESH_LEDGER_DIR environment variable overrides it. */
  dir: "/run/wdmesh",
  /** Name of the ledger file inside it. */
  fileName: "steps.db",
  /** Pause between two tries of a lock another process holds, ms. */
  retryMs: 25,
  /** How long one try waits for the lock inside SQLite (blocking the event loop), ms. */
  busyTimeoutMs: 20,
  /** Steps and ended incidents older than this are forgotten, ms (7 days). */
  retainMs: 7 * 24 * 3600_000,
} as const;

/** Restart, isolate and release steps (CommandSpec, the systemd and command executors). */
export const ACTION_DEFAULTS = {
  /** Deadline of a command without its own `timeout`, ms (30 s). */
  commandTimeoutMs: 30_000,
  /** Deadline of a systemctl call without the spec's own `timeout`, ms (30 s). */
  systemctlTimeoutMs: 30_000,
  /** isolate.systemd.mode. */
  isolateMode: "network",
  /** Most output kept of a command or systemctl run, bytes (64 KiB). */
  maxOutputBytes: 65_536,
  /** Deadline of one systemd-notify run, ms. */
  sdNotifyTimeoutMs: 5_000,
  /** Network isolation check: how long a canary waits for its connection, ms. */
  verifyConnectTimeoutMs: 1_500,
  /** Network isolation check: deadline of each canary process, ms (10 s). */
  verifyProcessTimeoutMs: 10_000,
} as const;

/** Containers through the Docker Engine API (probe/restart/isolate `container:`, `peers_from.containers`). */
export const CONTAINER_DEFAULTS = {
  /** container.engine: picks the default socket only (both engines speak the same API). */
  engine: "docker",
  /** container.socket with engine docker. */
  dockerSocket: "/var/run/docker.sock",
  /** container.socket with engine podman (`podman system service`, rootful). */
  podmanSocket: "/run/podman/podman.sock",
  /** container.timeout: deadline of each request to the engine, ms (30 s). */
  requestTimeoutMs: 30_000,
  /** container.stop_timeout: time a container is given to stop before it is killed, ms (10 s). */
  stopTimeoutMs: 10_000,
  /** isolate.container.host_mode: what isolates a container that has no network of its own to cut. */
  hostMode: "pause",
  /** peers_from.containers.label: the label (KEY=VALUE or KEY) that makes a container a peer. */
  label: "wdmesh.watch=true",
  /** Discovery: wait before reconnecting to the engine's event stream, ms. */
  eventsRetryMs: 2_000,
} as const;

/** The mesh (MeshOptions; config `mesh:`). */
export const MESH_DEFAULTS = {
  /** How many of the configured nodes must confirm a failure. */
  confirm: "majority",
  /**
   * takeover_after, when not set, is the peer's restart timeout (ACTION_DEFAULTS' 30 s
   * unless the spec sets one) plus one probe interval.
   */
  /**
   * clock_skew fires when a member's measured clock offset exceeds this, ms: half of the
   * 60 s either way that a member accepts on a signed view request's timestamp, so it warns before views
   * are refused. Fixed, not configurable.
   */
  clockSkewBoundMs: 30_000,
} as const;

/** Local health awareness (SelfHealthOptions; config `self_health:`). */
export const SELF_HEALTH_DEFAULTS = {
  /** Event-loop delay p99 above which this node is degraded, ms. */
  loopDelayP99Ms: 200,
  /** Probe start lateness p99 above which this node is degraded, ms (a quarter of a 1 s interval). */
  latenessP99Ms: 250,
  /** Sliding window both p99s are computed over, ms (10 s). */
  windowMs: 10_000,
  /** While degraded, probe deadlines are multiplied by this (factor). */
  deadlineFactor: 2,
} as const;

/** The storm guard (StormOptions; config `storm:`). */
export const STORM_DEFAULTS = {
  /** Fraction of the watched peers that must fail within one interval for a storm. */
  fraction: 0.5,
  /** And at least this many peers (count). */
  minPeers: 3,
} as const;

/** node_blind: this node's checks mostly inconclusive (fixed rule, not configurable). */
export const BLIND_DEFAULTS = {
  /** Sliding window the checks are counted over, ms (30 s). */
  windowMs: 30_000,
  /** Blind when more than this fraction of the window's checks are inconclusive. */
  fraction: 0.5,
  /** ...and the window holds at least this many checks (count). */
  minChecks: 10,
  /** Sighted again when at most this fraction of the window's checks are inconclusive. */
  clearFraction: 0.2,
} as const;

/** The daemon's node (config `node:`). */
export const NODE_DEFAULTS = {
  /** node.listen: loopback only. */
  listen: "127.0.0.1:9760",
  /** node.data_dir. */
  dataDir: "/var/lib/wdmesh",
  /** node.max_connections: API sockets open at once (count). */
  maxConnections: 1024,
  /** node.public_reads. */
  publicReads: false,
} as const;

/** Alert sinks (SinkConfig; config `alerts:`) and their retries. */
export const SINK_DEFAULTS = {
  /** Only actions at or above this severity are sent. */
  minSeverity: "INFO",
  /** Deadline of one delivery request, ms (10 s). */
  timeoutMs: 10_000,
  /** Undelivered alerts older than this are dead-lettered, ms (24 h). */
  maxAgeMs: 86_400_000,
  /** Delay before the first retry, ms (1 s); doubled (with jitter) for each next one. */
  retryInitialMs: 1_000,
  /** Longest delay between two attempts, ms (5 min). */
  retryMaxMs: 300_000,
  /** Shortest full-jitter retry delay, ms, so a fast-failing receiver is not hammered. */
  retryMinMs: 100,
  /** Alertmanager: firing alerts are re-sent this often, ms (60 s). */
  resendIntervalMs: 60_000,
  /** Webhook payload format. */
  webhookFormat: "generic",
  /** PagerDuty Events API v2 endpoint. */
  pagerdutyUrl: "https://events.pagerduty.com/v2/enqueue",
  /** verifyWebhook accepts signature timestamps at most this far from now, seconds (5 min). */
  signatureToleranceSec: 300,
} as const;

/** The SQLite store. */
export const STORE_DEFAULTS = {
  /** How long a writer waits for a lock held by another connection, ms. */
  busyTimeoutMs: 5_000,
  /** Outbox rows listed when no limit is given (rows). */
  outboxListRows: 100,
  /** Journal entries per page when no limit is given (entries). */
  journalPageRows: 1_000,
} as const;

/** This node's own event-loop delay measurement (health/loop-delay.ts). */
export const LOOP_DELAY_DEFAULTS = {
  /** Expected gap between the detector's ticks while probes are in flight, ms. */
  resolutionMs: 50,
  /** Gap between its ticks while no probe is in flight, ms (1 s): an idle agent is not woken 20 times a second. */
  idleMs: 1_000,
  /** How long samples are kept, ms (60 s). */
  retainMs: 60_000,
} as const;

/** The scheduler. */
export const SCHEDULE_DEFAULTS = {
  /** Probe start lateness samples kept for the lateness summary (count). */
  latenessSamples: 8_192,
} as const;

/** Messages. */
export const MESSAGE_DEFAULTS = {
  /** Longest one-line excerpt of an error or a process's output, characters. */
  lineChars: 200,
} as const;

/** The CLI's requests to a node's API. */
export const CLI_DEFAULTS = {
  /** Deadline of one request, ms (10 s). */
  requestTimeoutMs: 10_000,
} as const;

/** `wdmesh demo`. */
export const DEMO_DEFAULTS = {
  /** The demo kills its sidecar this often once it is healthy again, ms. */
  chaosEveryMs: 20_000,
  /** The demo prints its status this often, ms. */
  statusEveryMs: 5_000,
  /** `wdmesh demo --containers`: the restart and the isolation must be seen within this long, ms (3 min). */
  containersForMs: 180_000,
  /** `wdmesh demo --containers`: both containers must be HEALTHY within this long before anything is broken, ms (1 min). */
  containersHealthyWithinMs: 60_000,
} as const;

/** The alert worker (outbox delivery). */
export const ALERT_WORKER_DEFAULTS = {
  /** Wait at most this long after an action for its effect's result, ms (60 s). */
  effectWaitMs: 60_000,
  /** Pause after the outbox itself failed (e.g. disk full), ms. */
  storeRetryMs: 1_000,
  /** Most delivered rows whose marks are written in one transaction (rows). */
  deliveredBatch: 100,
  /** Longest a delivered row's mark is held before it is written, ms. */
  deliveredFlushMs: 100,
} as const;

/** The daemon's HTTP API and its event stream. */
export const API_DEFAULTS = {
  /** Rows of GET /v1/events and GET /v1/alerts/deliveries when no limit is given (rows). */
  listLimit: 100,
  /** An idle keep-alive connection is closed after this long, ms. */
  keepAliveTimeoutMs: 5_000,
  /** Largest accepted request body, bytes (16 KiB). */
  maxBodyBytes: 16_384,
  /** Deadline to receive a whole request (headers and body), ms. */
  requestTimeoutMs: 10_000,
  /** Deadline to receive the request headers, ms. */
  headersTimeoutMs: 5_000,
  /** On close(), how long in-flight requests may finish before their sockets are cut, ms. */
  closeGraceMs: 2_000,
  /** SSE keep-alive comment interval, ms (15 s). */
  sseHeartbeatMs: 15_000,
  /** Most concurrent event streams (count); more answer 503. */
  maxSseClients: 64,
  /** A stream client with more unsent bytes than this is dropped, bytes (1 MiB). */
  sseMaxBufferedBytes: 1_048_576,
  /** A stream client whose socket has not drained for this long is dropped, ms (30 s). */
  sseStallMs: 30_000,
  /** Least time between two probe events of one peer on a stream, ms; sooner results are coalesced. */
  sseProbeIntervalMs: 1_000,
  /** Requests each client address may make per second on average (count/s); more answer 429. */
  requestsPerSecondPerAddress: 200,
  /** Requests a client address may make in a burst above its rate (count). */
  requestBurstPerAddress: 400,
  /** Requests waiting behind the one being answered on one connection (pipelined); more close it (count). */
  maxPipelinedPerConnection: 16,
  /** Most API requests started in one event-loop turn before probes and timers get their turn (count). */
  requestsPerTurn: 16,
  /** Client addresses whose request budget is kept before the ones full again are forgotten (count). */
  requestBudgetAddresses: 4_096,
} as const;

/** The fleet's etcd coordination (config `coordination.etcd`). */
export const FLEET_DEFAULTS = {
  /** Key prefix every fleet key lives under. */
  prefix: "/wdmesh",
  /** TTL of each node's etcd lease, ms (30 s): a node silent this long is OFFLINE to all. */
  leaseTtlMs: 30_000,
  /** How often a node renews its lease, ms (10 s, a Kubernetes node lease's heartbeat). */
  keepaliveIntervalMs: 10_000,
  /** Deadline of one etcd request, ms (5 s). */
  requestTimeoutMs: 5_000,
  /** How often a node compares its peers' health with what it published, ms (1 s; a write only on change). */
  publishIntervalMs: 1_000,
} as const;

/** The test kit `watchdog-mesh/testing` (FakeClock's helpers, createTestMesh). */
export const TESTING_DEFAULTS = {
  /** Event-loop turns settle() lets pending promise chains run for (count). */
  settleTurns: 5,
  /** Event-loop turns turnsUntil() waits for its condition before it fails (count). */
  maxTurns: 200_000,
  /** Nodes of a test mesh when none are named (count). */
  meshNodes: 3,
  /** Probe interval of a test mesh's nodes, ms (1 s): advance() exchanges views once per interval. */
  meshIntervalMs: 1_000,
} as const;

/**
 * "Default 30s." for a schema description: a duration in ms is written the way the
 * config file writes it, anything else as is. The config schema builds every
 * "Default …" sentence with this, from the values above.
 */
export function describeDefault(value: number | string | boolean, unit: "ms" | "count" = "count"): string {
  return `Default ${unit === "ms" && typeof value === "number" ? formatDuration(value) : String(value)}.`;
}
