// The mesh's RemediationGate (Monitor option `gate`): a target watched by several nodes
// is remediated by exactly one of them, and only after a quorum of its observers
// confirms the failure.
//
//   observers(T) = this node + every member that is alive and whose fresh view lists T
//   owner(T)     = rendezvous owner of T among observers(T)            (owner.ts)
//   mayAct(T)    = this node is owner(T) and observers(T) confirm the failure (quorum.ts)
//
// A member is alive when its authenticated heartbeat on this node is HEALTHY or
// DEGRADED (one lost heartbeat must not move ownership, which could let two nodes act
// at once) and its view is fresh (received within 3 × interval); UNKNOWN (never probed),
// OFFLINE and ISOLATED members are not alive, nor is one whose view is older or absent.
// When asked, this node has just seen T fail, so it counts as failing; another observer
// counts as failing when its view shows T not HEALTHY/UNKNOWN or with missed_count > 0.
//
// Members themselves (the other watchdogs) are only observed: each node may emit the
// first `alert` of a member's incident (and `recovered` later), but never escalates a
// member to restart/isolate, so a watchdog that comes back is counted alive again.
import type { PeerHealth } from "../core/types.js";
import { silentLogger, type Logger } from "../logger.js";
import type { GateVerdict, RemediationGate } from "../monitor.js";
import { systemClock, type Clock } from "../schedule/clock.js";
import { rendezvousOwner } from "./owner.js";
import { isConfirmed, requiredConfirmations, type ConfirmMode } from "./quorum.js";
import type { ReceivedView } from "./views.js";

/** Views older than this many intervals count as absent. */
export const VIEW_FRESH_INTERVALS = 3;

export interface MeshGateOptions {
  /** This node's name. */
  self: string;
  /** Names of the other mesh members. */
  members: readonly string[];
  confirm: ConfirmMode;
  /** This node's health of a peer (members are peers too); undefined when not registered. */
  health: (peer: string) => PeerHealth | undefined;
  /** Latest verified view of a member, whatever its age. */
  view: (member: string) => ReceivedView | undefined;
  /** View poll interval, ms; views older than 3 × this count as absent. */
  intervalMs: number;
  /**
   * missed_before_restart of member peers: a member's miss may only escalate while it
   * stays below this (so only its first `alert` is emitted). Default 3.
   */
  memberMissedBeforeRestart?: number;
  clock?: Clock;
  logger?: Logger;
}

/** How this node decides about one target now (for logs, the API and tests). */
export interface MeshDecision {
  target: string;
  observers: string[];
  /** Observers that see the target failing (this node included). */
  failing: string[];
  owner: string;
  confirmed: boolean;
  act: boolean;
}

/** The Monitor's verdict for a decision: act, observe only, or hold (owner, not confirmed). */
export function verdictOf(d: MeshDecision, self: string, confirm: ConfirmMode): GateVerdict {
  if (d.act) return { act: true };
  if (d.owner !== self) return { act: false };
  const need = requiredConfirmations(confirm, d.observers.length);
  return {
    act: false,
    hold: `${d.failing.length} of ${d.observers.length} nodes confirm, ${need} needed`,
  };
}

export interface MeshGate extends RemediationGate {
  /** Members counted alive now (heartbeat HEALTHY/DEGRADED and a fresh view). */
  aliveMembers(): string[];
  /** Age of a member's latest view, ms, or null when none was received. */
  viewAgeMs(member: string): number | null;
  observers(target: string): string[];
  /** The decision mayAct() would take now for a miss of `target`. */
  decide(target: string): MeshDecision;
}

const FAILING_STATUSES = new Set(["DEGRADED", "OFFLINE", "ISOLATED"]);

export function createMeshGate(opts: MeshGateOptions): MeshGate {
  const { self, confirm } = opts;
  const members = [...new Set(opts.members)].filter((m) => m !== self);
  const memberSet = new Set(members);
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const maxAge = VIEW_FRESH_INTERVALS * opts.intervalMs;
  const memberLimit = opts.memberMissedBeforeRestart ?? 3;
  /** Last logged decision per target, so a change is logged once. */
  const logged = new Map<string, string>();

  const freshView = (m: string, now: number): ReceivedView | undefined => {
    const v = opts.view(m);
    return v && now - v.receivedAt <= maxAge ? v : undefined;
  };

  const alive = (m: string, now: number): boolean => {
    const h = opts.health(m);
    if (!h || (h.status !== "HEALTHY" && h.status !== "DEGRADED")) return false;
    return freshView(m, now) !== undefined;
  };

  const observersWithViews = (target: string): Array<{ node: string; view?: ReceivedView }> => {
    const now = clock.now();
    const out: Array<{ node: string; view?: ReceivedView }> = [{ node: self }];
    for (const m of members) {
      if (m === target || !alive(m, now)) continue;
      const v = freshView(m, now);
      if (v?.peers.has(target)) out.push({ node: m, view: v });
    }
    return out;
  };

  const decide = (target: string): MeshDecision => {
    if (memberSet.has(target)) {
      const h = opts.health(target);
      const act = (h?.missed_count ?? 0) + 1 < memberLimit;
      return { target, observers: [self], failing: [self], owner: self, confirmed: true, act };
    }
    const obs = observersWithViews(target);
    const failing = obs
      .filter(({ node, view }) => {
        if (node === self) return true;
        const p = view?.peers.get(target);
        return p !== undefined && (FAILING_STATUSES.has(p.status) || p.missed_count > 0);
      })
      .map((o) => o.node);
    const observers = obs.map((o) => o.node);
    const owner = rendezvousOwner(target, observers) as string;
    const confirmed = isConfirmed(confirm, observers.length, failing.length);
    return { target, observers, failing, owner, confirmed, act: owner === self && confirmed };
  };

  return {
    mayAct(target) {
      const d = decide(target);
      if (!memberSet.has(target)) {
        const key = `${d.act}|${d.owner}|${d.observers.join(",")}|${d.failing.length}`;
        if (logged.get(target) !== key) {
          logged.set(target, key);
          log.info(
            {
              peer: target,
              owner: d.owner,
              observers: d.observers,
              failing: d.failing,
              confirm,
              act: d.act,
            },
            d.act
              ? "mesh: failure confirmed and this node owns the peer; remediating"
              : d.owner !== self
                ? "mesh: another node owns the peer; observing only"
                : "mesh: failure not confirmed by a quorum of observers yet; observing only",
          );
        }
      }
      return memberSet.has(target) ? { act: d.act } : verdictOf(d, self, confirm);
    },
    owner(target) {
      if (memberSet.has(target)) return self;
      return rendezvousOwner(
        target,
        observersWithViews(target).map((o) => o.node),
      ) as string;
    },
    aliveMembers() {
      const now = clock.now();
      return members.filter((m) => alive(m, now));
    },
    viewAgeMs(member) {
      const v = opts.view(member);
      return v ? Math.max(0, clock.now() - v.receivedAt) : null;
    },
    observers: (target) => observersWithViews(target).map((o) => o.node),
    decide,
  };
}
