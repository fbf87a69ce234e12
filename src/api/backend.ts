// What the HTTP API needs from the running node. The daemon implements it over the
// Monitor, the store and the alert workers; tests use test/helpers/fake-backend.ts.
// Operations on a peer that is not registered throw WatchdogError WDM_UNKNOWN_PEER
// (answered 404); WDM_INVALID_STATE / WDM_INVALID_DURATION are answered 409 / 400.
import type { FleetStatusView } from "../fleet/keys.js";
import type { HttpSdGroup } from "../fleet/http-sd.js";
import type { PeerBeat, ProbeBeat } from "./probe-history.js";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { EscalationAction, PeerHealth } from "../core/types.js";
import type { MeshView } from "../mesh/mesh-node.js";
import type { DeliveryState, JournalEntry, OutboxRow } from "../store/types.js";

export type { MeshMemberView, MeshView } from "../mesh/mesh-node.js";

/** Result of POST /v1/alerts/:sink/test: one delivery attempt, made now. */
export interface AlertTestResult {
  sink: string;
  ok: boolean;
  /** HTTP status of the receiver, when it answered. */
  status?: number;
  error?: string;
  duration_ms: number;
}

export interface DeliveryFilter {
  state?: DeliveryState;
  sink?: string;
  /** At most this many rows (1..1000). */
  limit?: number;
}

/** What a reload came to: applied (with a summary of what changed) or refused with every problem. */
export type ReloadOutcome =
  | { ok: true; summary: Record<string, unknown> }
  | { ok: false; problems: Array<{ path: string; message: string }> };

/** GET /v1/fleet's answer. */
export type { FleetStatusView };

export interface ApiBackend {
  /** This node's name (node.name). */
  readonly node: string;
  mesh(): MeshView;
  /** mesh() already serialised; lets the daemon reuse one string while nothing changed. */
  meshJson?(): string;
  peer(name: string): PeerHealth | undefined;
  /** The peer's recent probe results, oldest first; undefined for an unknown peer (→ 404). */
  history?(name: string): ProbeBeat[] | undefined;
  /** Journal entries with seq > after, oldest first, at most `limit`. */
  events(after: number, limit: number): JournalEntry[];
  /** Called for every journal entry appended from now on. Returns unsubscribe. */
  onEvent(listener: (e: JournalEntry) => void): () => void;
  /**
   * Called for every probe result from now on (what history() keeps), for the event
   * stream's `probe` events. Absent: the stream carries none. Returns unsubscribe.
   */
  onProbe?(listener: (b: PeerBeat) => void): () => void;
  /** Operator release: un-isolates the peer and starts it over from UNKNOWN. `by` names who asked (for the journal reason). */
  release(name: string, by: string): Promise<EscalationAction>;
  /** Operator restart now, outside the ladder. */
  restart(name: string, by: string): Promise<EscalationAction>;
  /** Probe the peer now and apply the result; returns its health afterwards. */
  check(name: string): Promise<PeerHealth>;
  /** Maintenance: probed and shown, never escalated, for `ms` milliseconds from now. */
  silence(name: string, ms: number, by: string): PeerHealth;
  deliveries(filter: DeliveryFilter): OutboxRow[];
  /** Sends a test alert to `sink` now (not through the outbox); undefined when no such sink (→ 404). */
  alertsTest(sink: string): Promise<AlertTestResult | undefined>;
  /** hex HMAC-SHA256(mesh key, `${node}:${nonce}`), or undefined when no mesh key is configured. */
  healthProof?(nonce: string, from?: string): string | undefined;
  /** `signature` for GET /health?nonce=N&from=R with this node's own identity, if it has one. */
  healthSignature?(nonce: string, from: string): string | undefined;
  /**
   * Why a GET /v1/mesh/view request is not from a member that signed it; undefined when
   * it is, or when this node has no mesh (then meshView answers 404).
   */
  viewRequestProblem?(headers: IncomingHttpHeaders, nonce: string | undefined): string | undefined;
  /** This node's wall clock, epoch ms (the Date header of a refused view request). */
  clockNow?(): number;
  /**
   * GET /v1/mesh/view: this node's view of its non-member peers, serialised, with
   * proof = hex HMAC-SHA256(mesh key, body); `nonce` (from ?nonce=) is echoed in the
   * body. Undefined when no mesh key is configured (→ 404).
   */
  meshView?(nonce?: string, requester?: string): { body: string; proof?: string } | undefined;
  /** Answers `res` with a stream of signed views for a member (false: it cannot, one view is answered). */
  streamView?(res: ServerResponse, nonce: string, requester: string, everyMs: number): boolean;
  /** Why GET /health answers 503 "degraded" (the state store cannot commit); undefined when fit. */
  healthProblem?(): string | undefined;
  /**
   * Re-reads the config file and applies it (POST /v1/reload). `ok: false` lists every
   * problem of an invalid file (nothing was changed). Absent: the node cannot reload (→ 404).
   */
  reload?(): Promise<ReloadOutcome>;
  /** GET /v1/fleet: the fleet as this node sees it in etcd. Absent: no coordination.etcd (→ 404). */
  fleet?(): FleetStatusView;
  /** GET /v1/sd: Prometheus http_sd groups, one per live node of the fleet. Absent: → 404. */
  sd?(): HttpSdGroup[];
  /** Prometheus text exposition of this node's metrics. */
  metricsText(): Promise<string>;
  /** Content-Type of metricsText(). */
  readonly metricsContentType?: string;
}
