// Types only, never served: the shapes of the API answers web/dashboard.js reads.
//
// Each shape is the server's own declaration, imported from src/ modules that need no
// Node.js types (core/, store/types.ts, api/probe-history.ts), because the dashboard's
// type check runs with the browser's globals only. The answer of GET /v1/mesh is declared
// in src/mesh/mesh-node.ts beside Node-only code, so it is restated below from the same
// parts; test/types/dashboard-api.ts stops `npm run typecheck` when the two differ.
import type { ProbeBeat } from "../src/api/probe-history.js";
import type { MonitorStats, PeerHealth, PeerStatus } from "../src/core/types.js";

export type { EscalationAction, PeerHealth, PeerStatus } from "../src/core/types.js";
export type { PeerBeat, ProbeBeat } from "../src/api/probe-history.js";
export type { JournalDelivery, JournalEntry } from "../src/store/types.js";

/** One mesh member in GET /v1/mesh. */
export interface MeshMemberView {
  name: string;
  url: string;
  status: PeerStatus;
  last_seen: string | null;
  /** Age of the latest verified view of this member, ms; null when none was received. */
  view_age_ms?: number | null;
}

/** GET /v1/mesh. */
export interface MeshView {
  self: string;
  node: string;
  peers: PeerHealth[];
  stats: MonitorStats;
  members: MeshMemberView[];
  scheduler?: {
    in_flight: number;
    queued: number;
    lateness: { samples: number; p50_ms: number; p99_ms: number; max_ms: number };
  };
  self_health?: { status: "ok" | "degraded"; loop_delay_p99_ms: number; lateness_p99_ms: number };
}

/** GET /v1/peers/:name/history. */
export interface PeerHistory {
  peer: string;
  /** Oldest first. */
  probes: ProbeBeat[];
}
