// Whether enough nodes confirm a target's failure (mesh.confirm), counted over the
// CONFIGURED membership: N = the members in the config + this node.
//   any      — this node alone (1)
//   majority — floor(N/2)+1 of the N configured nodes (2 of 2, 2 of 3, 3 of 4, 3 of 5)
//   all      — N of N
// A node confirms the failure when it sees it itself (this node, on a miss) or when its
// fresh, verified view shows the target failing. Members that cannot be reached count
// against the quorum, never for it: a node cut off from the others is 1 of N, not 1 of 1.
import { InvalidOptionError } from "../core/errors.js";
import type { GateVerdict } from "../core/gate.js";
import { CONFIRM_MODES, type ConfirmMode } from "../core/rules.js";

export { CONFIRM_MODES, type ConfirmMode };

/** Nodes that must confirm under `mode` when `nodes` nodes count (the configured N). */
export function requiredConfirmations(mode: ConfirmMode, nodes: number): number {
  if (!Number.isInteger(nodes) || nodes < 0) {
    throw new InvalidOptionError("observers", `must be a non-negative integer (got ${String(nodes)})`);
  }
  switch (mode) {
    case "any":
      return 1;
    case "majority":
      return Math.floor(nodes / 2) + 1;
    case "all":
      return Math.max(1, nodes);
    default:
      throw new InvalidOptionError(
        "mesh.confirm",
        `must be one of ${CONFIRM_MODES.join(", ")} (got ${JSON.stringify(mode)})`,
      );
  }
}

/**
 * True when `failing` of `nodes` nodes confirm the failure under `mode`.
 * No nodes confirm nothing; `failing` above `nodes` is a caller bug and throws.
 */
export function isConfirmed(mode: ConfirmMode, nodes: number, failing: number): boolean {
  const need = requiredConfirmations(mode, nodes);
  if (!Number.isInteger(failing) || failing < 0 || failing > nodes) {
    throw new InvalidOptionError("failing", `must be an integer from 0 to ${nodes} (got ${String(failing)})`);
  }
  return nodes > 0 && failing >= need;
}

/** What one node knows about a target's failure when it decides (gate.ts gathers it). */
export interface QuorumFacts {
  self: string;
  target: string;
  mode: ConfirmMode;
  /** The configured members, this node excluded. */
  members: readonly string[];
  /** Members with a fresh, verified view whose heartbeat is not OFFLINE or ISOLATED. */
  reachable: readonly string[];
  /** Reachable members whose view lists the target (they watch it). */
  observers: readonly string[];
  /** This node (it just saw the target fail) and the reachable members whose view shows it failing. */
  confirming: readonly string[];
  /** Reachable members whose view shows the target ISOLATED (only an operator release undoes that). */
  isolatedBy: readonly string[];
  /** The node this node backs to remediate the target (backing.ts). */
  backs: string;
  /** Confirming nodes whose settled backing names this node, this node included. */
  backers: readonly string[];
  /**
   * Members without a fresh view whose measured clock is off by more than a view request
   * allows, with that said in words (clock-skew.ts): they are named for it, not as unreachable.
   */
  skewed?: ReadonlyMap<string, string>;
}

/** How a node decides from its facts; the product uses `configuredQuorum`. */
export type QuorumRule = (facts: QuorumFacts) => GateVerdict & { why: string };

const list = (names: readonly string[]): string => (names.length === 0 ? "none" : names.join(", "));

/** The hold reason of a node that cannot gather its quorum. */
export function heldReason(
  confirming: number,
  nodes: number,
  need: number,
  unreachable: readonly string[],
  skewed: readonly string[] = [],
): string {
  const head = `held: ${confirming} of ${nodes} node${nodes === 1 ? "" : "s"} confirm the failure, ${need} needed`;
  if (skewed.length === 0) return `${head}; unreachable: ${list(unreachable)}`;
  return [head, ...(unreachable.length > 0 ? [`unreachable: ${list(unreachable)}`] : []), ...skewed].join(
    "; ",
  );
}

/**
 * The product's rule. This node remediates only when
 *   0. no other node has isolated the target (else observe only: that is for an operator),
 *   1. at least `need` of the N configured nodes confirm the failure (else it holds and says why),
 *   2. it backs itself as the remediator (else another node does: observe only), and
 *   3. at least `need` confirming nodes back it with a settled backing, itself included
 *      (else the backings are still converging: observe only).
 * Each node backs one remediator at a time, so two nodes cannot both gather `need`
 * backers from the same nodes (see backing.ts for how backings move).
 */
export const configuredQuorum: QuorumRule = (f) => {
  if (f.isolatedBy.length > 0) {
    return { act: false, why: `isolated by ${list(f.isolatedBy)}; only an operator release undoes it` };
  }
  const nodes = f.members.length + 1;
  const need = requiredConfirmations(f.mode, nodes);
  if (f.confirming.length < need) {
    const unreachable = f.members.filter((m) => !f.reachable.includes(m) && !f.skewed?.has(m));
    const skewed = f.members.flatMap((m) => (f.reachable.includes(m) ? [] : (f.skewed?.get(m) ?? [])));
    const hold = heldReason(f.confirming.length, nodes, need, unreachable, skewed);
    return { act: false, hold, why: hold };
  }
  if (f.backs !== f.self) return { act: false, why: `${f.backs} remediates it (this node backs it)` };
  if (f.backers.length < need) {
    return {
      act: false,
      why: `${f.backers.length} of ${need} needed nodes back this node as remediator so far (${list(f.backers)})`,
    };
  }
  return {
    act: true,
    why: `${f.confirming.length} of ${nodes} nodes confirm, ${f.backers.length} back this node (${list(f.backers)})`,
  };
};
