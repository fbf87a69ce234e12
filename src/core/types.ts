// Public shapes of the product (the library API and the JSON of the HTTP API). JSON shapes are snake_case and
// seed-compatible: timestamps are RFC 3339 strings, `null` when never.

/**
 * Health of one peer, as the ladder sees it.
 * - UNKNOWN:  registered, never probed (or just released); we claim nothing.
 * - HEALTHY:  the last probe answered as expected.
 * - DEGRADED: 1..K-1 consecutive misses, no restart yet in this incident.
 * - OFFLINE:  at least one restart was issued in this incident and the peer has not answered since.
 * - ISOLATED: cut off after R failed restarts; only an operator `release` undoes it.
 */
export type PeerStatus = "UNKNOWN" | "HEALTHY" | "DEGRADED" | "OFFLINE" | "ISOLATED";

/** Every severity, lowest first. */
export const SEVERITIES = ["INFO", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = {
  INFO: 0,
  MEDIUM: 1,
  HIGH: 2,
  CRITICAL: 3,
};

/**
 * What an action reports. The first six belong to a peer's escalation ladder;
 * - remediation_held: this node would restart/isolate the peer but must not (no quorum,
 *   or this node is overloaded); the reason says why. Once per incident.
 * - remediation_observed (INFO): the peer is past missed_before_restart and another mesh
 *   node remediates it; this node only observes. Once per incident.
 * - remediation_stalled (HIGH): another node's restart/isolate of the peer did not finish
 *   within takeover_after; this node takes it over (when it may). Once per incident.
 * - self_degraded / self_recovered: this node's own health (event-loop delay, scheduler
 *   lateness) crossed its thresholds and came back; peer_name is the node itself.
 * - config_reloaded: the daemon applied a new configuration.
 * - config_reload_failed: a new configuration was refused (nothing changed); the reason lists every problem.
 * - store_failed / store_recovered: this node's state store could not commit (every step
 *   held) and commits again; peer_name is the node itself.
 * - host_unreachable / host_reachable: a fleet host lost its last live node (every lease
 *   on it expired) and got one back; peer_name is the host. Once per host and incident.
 * - fence: the host's fence command ran (by the one node holding the fence key), with its result.
 * - step_fenced: the host's step ledger refused a restart/isolate/release (another node
 *   took it, it is still in flight, or the incident ended; INFO, naming who) or held it
 *   (the ledger could not be used; HIGH); the step was not performed.
 * - correlated_failure / correlated_failure_cleared: many watched peers failed at once (a
 *   storm: a shared cause is likely), so every restart and isolation is held; and the end
 *   of it. peer_name is the node itself.
 * - node_blind / node_blind_cleared: most of this node's checks were inconclusive over a
 *   window (it cannot see its peers); and the end of it. peer_name is the node itself.
 * - clock_skew / clock_skew_cleared: a member's clock, measured from the view exchange, is
 *   more than 30 s off this node's (the reason names the member and by how much); and every
 *   member back within it. peer_name is the node itself.
 * - dependency_failing: the peer fails while a peer it depends on fails; it joins that
 *   peer's incident (incident_id is the root's) and is not remediated on its own.
 */
export type ActionKind =
  | "alert"
  | "restart"
  | "isolate"
  | "alert_architect"
  | "recovered"
  | "release"
  | "remediation_held"
  | "remediation_observed"
  | "remediation_stalled"
  | "self_degraded"
  | "self_recovered"
  | "config_reloaded"
  | "config_reload_failed"
  | "store_failed"
  | "store_recovered"
  | "host_unreachable"
  | "host_reachable"
  | "fence"
  | "step_fenced"
  | "correlated_failure"
  | "correlated_failure_cleared"
  | "node_blind"
  | "node_blind_cleared"
  | "clock_skew"
  | "clock_skew_cleared"
  | "dependency_failing";

/**
 * Actions that close an incident: formatters send them as "resolved", and the outbox
 * routes them to every sink that heard of the incident. self_recovered closes what
 * self_degraded (this node overloaded) opened.
 */
export const RESOLVING_ACTIONS: ReadonlySet<ActionKind> = new Set<ActionKind>([
  "recovered",
  "release",
  "self_recovered",
  "store_recovered",
  "host_reachable",
  "correlated_failure_cleared",
  "node_blind_cleared",
  "clock_skew_cleared",
]);

/** Outcome of a remediation effect (restart, isolate, release), recorded on its action. */
export interface ActionResult {
  ok: boolean;
  /** Why it failed, in words an operator can act on. Never contains secrets. */
  error?: string;
  /** What was actually done, e.g. "systemctl restart sidecar.service" or "fell back to stop". */
  detail?: string;
  /** New MainPID after a systemd restart, when known. */
  main_pid?: number;
  /** Wall time the effect took, ms. */
  duration_ms?: number;
  /** True when the host's step ledger refused or held the step: it was never performed. */
  fenced?: boolean;
}

export interface EscalationAction {
  /** RFC 3339. */
  timestamp: string;
  peer_name: string;
  action: ActionKind;
  reason: string;
  severity: Severity;
  /** Unique id of this action; receivers dedupe on it. */
  id: string;
  /** The incident this action belongs to; null only for actions outside an incident. */
  incident_id: string | null;
  /** Name of the node that decided it. */
  node: string;
  result?: ActionResult;
  /**
   * On alerts: the node's journal head once this action was written (its entry's seq and
   * hash). Every receiver so holds a witness of the chain: a journal later shorter than this,
   * or with another hash at this seq, was rewritten.
   */
  journal?: { seq: number; hash: string };
}

export interface PeerHealth {
  name: string;
  endpoint: string;
  status: PeerStatus;
  last_seen: string | null;
  missed_count: number;
  restart_count: number;
  last_restart: string | null;
  response_time_ms: number;
  last_error: string | null;
  incident_id: string | null;
  isolated_at: string | null;
  silenced_until: string | null;
  /** Mesh: the node that remediates this peer (this node when not in a mesh). */
  owner: string | null;
  /**
   * Set while a peer this one depends on (depends_on) fails: that root peer and its
   * incident, which this peer's failures join; it is not remediated on its own meanwhile.
   */
  root_cause?: { peer: string; incident_id: string | null };
}

/** What a mesh view says of each peer: the fields of its PeerHealth that a view lists. */
export type PeerCount = Pick<PeerHealth, "name" | "status" | "missed_count">;

export interface MonitorStats {
  total_checks: number;
  total_misses: number;
  total_restarts: number;
  total_isolations: number;
  /** Probes that could not tell (this node's own trouble); counted in total_checks, never in total_misses. */
  inconclusive_checks: number;
  started_at: string;
  peer_count: number;
}

/** Result of one probe. `ok` false is a miss; `error` says why, precisely. */
export interface ProbeResult {
  ok: boolean;
  /** Time from start of the probe to its verdict, ms. */
  duration_ms: number;
  /** e.g. "connection refused", "timeout after 5000 ms", "status 503 (expected 200)", "body larger than 65536 bytes". */
  error?: string;
  /**
   * The probe could not tell: it failed for a reason local to this node (out of file
   * descriptors, buffers, memory or ports; a failed spawn) or its deadline ran out while
   * this node itself was stalled. Not a miss; retried after retry_interval. The Monitor
   * sets it (with `cause`) on the results it reports; a prober that sets it without a
   * `cause` is read as cause `prober`.
   */
  inconclusive?: boolean;
  /**
   * Why a failed probe says nothing about the peer, set where the failure happened; never
   * derived from text a peer or a check wrote. Absent on a miss.
   */
  cause?: ProbeCause;
}

/**
 * The typed cause of an inconclusive probe:
 * - local:  this node's own syscall or spawn failed with `errno` (EMFILE, ENFILE, ENOBUFS,
 *           ENOMEM, EADDRNOTAVAIL, EAGAIN): out of descriptors, buffers, memory, ports;
 * - stall:  the deadline ran out while this node itself was stalled for `stalled_ms`;
 * - queued: the deadline ran out while the request still waited behind other requests to
 *           its origin (the peer was never asked);
 * - prober: the prober itself failed (threw, or said it could not tell);
 * - grace:  the peer says it is still starting (a container HEALTHCHECK's start period):
 *           not a miss yet, and no trouble of this node's either.
 */
export type ProbeCause =
  | { kind: "local"; errno: string }
  | { kind: "stall"; stalled_ms: number }
  | { kind: "queued" }
  | { kind: "prober" }
  | { kind: "grace" };

// ---------------------------------------------------------------- node and mesh

export type SelfHealthStatus = "ok" | "degraded";

/** This node's own health (GET /v1/mesh `self_health`). */
export interface SelfHealthReport {
  status: SelfHealthStatus;
  loop_delay_p99_ms: number;
  lateness_p99_ms: number;
}

/** Whether this node's state store commits (GET /v1/mesh `store`). */
export interface StoreHealthReport {
  status: "ok" | "failing";
  /** Commits that failed since this node started (count). */
  errors_total: number;
  /** While failing: when the first commit of this episode failed (RFC 3339). */
  failing_since?: string;
  /** While failing: the last commit error (store errors name the file and the cause, never a secret). */
  error?: string;
  /** While failing: commits refused in this episode (count). */
  failed_commits?: number;
}

/** A member as this node sees it (GET /v1/mesh `members`). */
export interface MeshMemberView {
  name: string;
  url: string;
  /** Its health as probed by this node; UNKNOWN before the first probe. */
  status: PeerStatus;
  last_seen: string | null;
  /** Age of the latest verified view of this member, ms; null when none was received (or no mesh key). */
  view_age_ms?: number | null;
  /** Its clock minus this node's, ms, measured from the view exchange; null when unknown. */
  clock_offset_ms?: number | null;
  /**
   * How its views come: "stream" (one open request), "poll" (one request per interval: it
   * cannot stream), null while neither (no view yet, or its stream is asked again).
   */
  view_via?: "stream" | "poll" | null;
}

/** GET /v1/mesh: seed-compatible {self, peers, stats} plus node and members. */
export interface MeshView {
  self: string;
  node: string;
  /** The watched peers, members left out (they are listed in `members`). */
  peers: PeerHealth[];
  stats: MonitorStats;
  members: MeshMemberView[];
  /** Probe scheduling health: probes in flight, queued, and lateness (ms) of recent probes. */
  scheduler?: {
    in_flight: number;
    queued: number;
    lateness: { samples: number; p50_ms: number; p99_ms: number; max_ms: number };
  };
  /** This node's own health: degraded while it is too slow to trust its own deadlines. */
  self_health?: SelfHealthReport;
  /** Whether this node's state store commits; while `failing`, every step is held. */
  store?: StoreHealthReport;
  /** true when this node is in a fleet coordinated by etcd (GET /v1/fleet answers); absent otherwise. */
  fleet?: true;
}
