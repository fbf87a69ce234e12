// Which node this node backs to remediate a failing target: its one vote per target.
// A node remediates only when a quorum of the configured nodes backs it (quorum.ts), and
// each node backs one node at a time, so two nodes cannot gather a quorum of backers at
// once. Backings are sticky, because a vote that moves while others still hold an old
// copy of it (views are up to 3 intervals old) could count for two nodes:
//
//   no backing yet            → back the top of the confirming nodes (rendezvous order),
//                               or itself while its own step is recent (after a restart)
//   backs itself              → move to the top of the confirming nodes when that is
//                               another node that does not back this one (safe: only a node counts backings of itself,
//                               and this node no longer backs itself); but not while its
//                               own step on the target is recent (within takeover_after):
//                               the others must not start the same step again
//   backs V, V backs W ≠ V    → follow to W when W confirms too and V's backing of W is
//                               settled (safe: V does not back itself, so it counts no
//                               backing; and a follower never launders a backing that
//                               does not count yet, e.g. of a node that just restarted)
//   backs V, this node cannot
//   tell (its own trouble kept
//   it from asking V)         → keep V: V's silence is not V's doing
//   backs V, V unreachable,
//   V sees the target healthy,
//   or V is overloaded        → DROP V, back the top of the confirming nodes that are not
//                               overloaded (an overloaded node holds: self health)
//   otherwise                 → keep V
//
// A drop is unsafe: V may still count this node's old backing from a view it holds. The
// other moves are unsafe together: when overload flags come and go, A may move off itself
// to B while B moves off itself to A, and each then follows the other back to itself,
// both counting the other's old backing. So after ANY change (the gate restarts the
// settle period; `dropped` marks the moves that must unsettle even under the older rule)
// this node's backing is unsettled for `settleMs` (longer than a view stays fresh plus
// one poll), and an unsettled backing counts for nobody, this node included. Starting counts as a drop: a restarted node may have backed another node
// before it stopped. (A step it started before it stopped is still listed in its views,
// from its state file, for takeover_after after it started.)
import { rendezvousOwner } from "./owner.js";

/** What this node sees of another node, for backing decisions. */
export interface BackingPeerFacts {
  /** Fresh verified view, heartbeat not OFFLINE/ISOLATED. */
  reachable: boolean;
  /** Its view shows the target failing. */
  failing: boolean;
  /** The node its view says it backs for the target. */
  backs?: string;
  /** Its backing counts (settled; backing.ts). */
  settled?: boolean;
  /** It reports itself overloaded (self health degraded): it holds whatever it would do. */
  degraded?: boolean;
  /**
   * Not reachable, and this node cannot tell why: its own trouble (out of descriptors,
   * its request queue) kept it from asking. Not counted against the node.
   */
  unknown?: boolean;
}

export interface BackingInput {
  self: string;
  target: string;
  /** This node and the reachable members that see the target failing. */
  confirming: readonly string[];
  /** Facts about a member; undefined for an unknown name. */
  member: (name: string) => BackingPeerFacts | undefined;
  /** This node started a step on the target less than takeover_after ago: keep backing itself. */
  recentOwnStep?: boolean;
  /** This node is overloaded (self health degraded): it holds, so it does not back itself. */
  selfDegraded?: boolean;
}

export interface BackingMove {
  backs: string;
  /** True when this move stopped backing another node (unsettles this node's backing). */
  dropped: boolean;
}

/** The top of the confirming nodes that are not overloaded (all of them when every one is). */
export function topConfirming(input: BackingInput): { top: string; able: string[] } {
  // An overloaded node holds whatever it would do: back it only if every confirming node is.
  const able = input.confirming.filter((n) =>
    n === input.self ? input.selfDegraded !== true : input.member(n)?.degraded !== true,
  );
  const top = rendezvousOwner(input.target, able.length > 0 ? able : input.confirming) ?? input.self;
  return { top, able };
}

/** The next backing of `self` for `target`, given the previous one (pure). */
export function nextBacking(prev: string | undefined, input: BackingInput): BackingMove {
  const { top, able } = topConfirming(input);
  const keepSelf = input.recentOwnStep === true && input.selfDegraded !== true;
  if (prev === undefined) return { backs: keepSelf ? input.self : top, dropped: false };
  if (prev === input.self) {
    // Moving to a node that backs this one would only follow it back next time: a flap
    // that never settles (every change unsettles, gate.ts). Staying is always safe.
    const t = top === input.self || input.selfDegraded === true ? undefined : input.member(top);
    return { backs: keepSelf || t?.backs === input.self ? prev : top, dropped: false };
  }
  const v = input.member(prev);
  if (v?.unknown === true) return { backs: prev, dropped: false };
  if (!v || !v.reachable || !v.failing || (v.degraded === true && able.length > 0)) {
    return { backs: top, dropped: top !== prev };
  }
  if (v.backs !== undefined && v.backs !== prev && v.settled === true) {
    const w = v.backs === input.self ? undefined : input.member(v.backs);
    if (v.backs === input.self || (w?.reachable && w.failing)) return { backs: v.backs, dropped: false };
  }
  return { backs: prev, dropped: false };
}

/** True when a backing last unsettled at `droppedAt` (null: never) counts at `now`. */
export function isSettled(droppedAt: number | null, now: number, settleMs: number): boolean {
  return droppedAt === null || now - droppedAt >= settleMs;
}
