// The port between the Monitor and the mesh: the remediation gate and the steps in
// flight it shares. The Monitor calls it, mesh/ implements it; both import it from here.
import type { Logger } from "./logger.js";
import type { PeerStatus } from "./types.js";

/**
 * What the gate says about a miss:
 * - `{ act: true }`: this node escalates and remediates.
 * - `{ act: false }`: observe only (another node owns the peer); no alert.
 * - `{ act: false, hold }`: this node would remediate but must not (no quorum, overloaded):
 *   the peer stays where it is and `remediation_held` (HIGH) is emitted once per incident,
 *   where the ladder would have stepped to restart/isolate, with `hold` as the reason.
 * - `{ act: false, quiet: true }`: the miss is paged elsewhere (a fleet host that lost its
 *   node is one `host_unreachable`; a peer on another host is paged by that host's node):
 *   counted and shown only, no incident of its own, no alert.
 */
export type GateVerdict = ({ act: true } | { act: false; hold?: string; observe?: string; quiet?: true }) & {
  /** Another node's step on the peer did not finish within takeover_after (remediation_stalled). */
  stalled?: string;
};

/**
 * Mesh hook: which node remediates a peer, and whether this node may act on a miss now
 * (it is the owner and a quorum of the nodes confirms the failure). Without a gate the
 * node owns every peer.
 */
export interface RemediationGate {
  /** Called on each miss of `peer`. */
  mayAct(peer: string): GateVerdict;
  /**
   * Name of the node that remediates `peer` (PeerHealth.owner). `seen` is this node's
   * own view of the peer, when the caller has it (so the gate need not ask for it).
   */
  owner(peer: string, seen?: { status: PeerStatus; missed_count: number }): string;
}

/** A remediation step this node has started and not finished (shared with the mesh in views). */
export interface InFlightStep {
  peer: string;
  /** The peer's incident when the step started (null for an operator restart outside one). */
  incident: string | null;
  step: "restart" | "isolate";
  /** Restart attempt (0 for an operator restart and for isolate). */
  attempt: number;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms when it finished; null while it runs. */
  finishedAt: number | null;
}

/** The gate's verdict on a miss of `peer`; a gate that throws holds, and says why. */
export function askGate(gate: RemediationGate | undefined, peer: string, logger: Logger): GateVerdict {
  if (!gate) return { act: true };
  try {
    return gate.mayAct(peer);
  } catch (err) {
    // The node cannot tell whether it may act: it holds and says why.
    logger.warn({ peer, err: String(err) }, "mesh gate failed; holding remediation");
    return { act: false, hold: `the mesh gate failed (${String(err)})` };
  }
}

/**
 * The overload hold: a node that cannot trust its own deadlines (`overloaded` is why,
 * undefined when it can) holds what it would do; an observe-only verdict stays one.
 */
export function holdWhileOverloaded(verdict: GateVerdict, overloaded: string | undefined): GateVerdict {
  if (overloaded === undefined || (!verdict.act && verdict.hold === undefined)) return verdict;
  return {
    act: false,
    hold: verdict.act ? overloaded : `${verdict.hold}; ${overloaded}`,
    ...(verdict.stalled === undefined ? {} : { stalled: verdict.stalled }),
  };
}
