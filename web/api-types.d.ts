// Types only, never served: the shapes of the API answers web/dashboard.js reads.
//
// Each shape is the server's own declaration, imported from src/ modules that need no
// Node.js types (core/types.ts, store/types.ts, api/probe-history.ts, fleet/keys.ts), because the
// dashboard's type check runs with the browser's globals only.
import type { ProbeBeat } from "../src/api/probe-history.js";

export type {
  EscalationAction,
  MeshMemberView,
  MeshView,
  PeerHealth,
  PeerStatus,
} from "../src/core/types.js";
export type { PeerBeat, ProbeBeat } from "../src/api/probe-history.js";
export type { JournalDelivery, JournalEntry } from "../src/store/types.js";
export type { FleetMember, FleetStatusView } from "../src/fleet/keys.js";

/** GET /v1/peers/:name/history. */
export interface PeerHistory {
  peer: string;
  /** Oldest first. */
  probes: ProbeBeat[];
}
