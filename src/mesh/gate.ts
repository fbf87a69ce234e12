// The mesh's RemediationGate (Monitor option `gate`): a target watched by several nodes
// is remediated by at most one of them, and only after a quorum of the CONFIGURED nodes
// (members + this node) confirms the failure through fresh, verified views.
//
//   reachable(M)  = M's latest view is fresh (asked for within 3 × interval) and M's
//                   heartbeat on this node is not OFFLINE or ISOLATED
//   confirming(T) = this node (it just saw T fail) + reachable members whose view shows
//                   T failing (not HEALTHY/UNKNOWN, or missed_count > 0)
//   backs(T)      = the node this node backs to remediate T (backing.ts: sticky votes)
//   mayAct(T)     = quorum.ts: enough confirming nodes, this node backs itself, and
//                   enough settled backers; and no other node's step on T in flight,
//                   nor a member it backed for T gone silent since (takeover.ts)
//
// A node cut off from the others is 1 of N and holds, with a reason naming who confirms
// and who is unreachable. Before any view has arrived (startup) the node's own backing
// is unsettled, so it makes no lone decision even with confirm: any.
//
// Members themselves (the other watchdogs) are only watched: their peers are registered
// alert-only (PeerSpec.alertOnly), so the ladder marks a dead member OFFLINE with an
// alert and never restarts or isolates it; the gate lets that escalation through.
import type { PeerHealth } from "../core/types.js";
import { silentLogger, type Logger } from "../core/logger.js";
import type { GateVerdict, RemediationGate } from "../core/gate.js";
import { systemClock, type Clock } from "../schedule/clock.js";
import {
  isSettled,
  nextBacking,
  type BackingInput,
  type BackingMove,
  type BackingPeerFacts,
} from "./backing.js";
import { rendezvousOwner } from "./owner.js";
import { configuredQuorum, type ConfirmMode, type QuorumFacts, type QuorumRule } from "./quorum.js";
import { defaultTakeoverAfterMs, TakeoverWatch, type BackedAt, type PendingStep } from "./takeover.js";
import type { Backing, ReceivedPeer, ReceivedView } from "./views.js";

/** Views asked for longer ago than this many intervals count as absent. */
export const VIEW_FRESH_INTERVALS = 3;
/** A backing counts this many intervals after its last change (default settleMs): a view's freshness plus one poll. */
export const SETTLE_INTERVALS = VIEW_FRESH_INTERVALS + 1;

export interface MeshGateOptions {
  /** This node's name. */
  self: string;
  /** Names of the other configured mesh members. */
  members: readonly string[];
  confirm: ConfirmMode;
  /** This node's health of a peer (members are peers too); undefined when not registered. */
  health: (peer: string) => PeerHealth | undefined;
  /** Latest verified view of a member, whatever its age. */
  view: (member: string) => ReceivedView | undefined;
  /** View poll interval, ms; views asked for more than 3 × this ago count as absent. */
  intervalMs: number;
  /**
   * How long another node's started step on a peer blocks this node before it takes the
   * step over, ms. Default: 30 s (the executors' default timeout) plus one interval.
   */
  takeoverAfterMs?: number | ((peer: string) => number);
  /**
   * How long this node's backing stays unsettled after it stopped backing another node,
   * ms. Default (3 + 1) × interval: longer than a view stays fresh plus one poll.
   */
  settleMs?: number;
  /**
   * When this node last started a remediation step on `peer` (epoch ms), including steps
   * it started before it restarted; undefined when none. Default: only what the gate saw.
   */
  lastOwnStepAt?: (peer: string) => number | undefined;
  /** True while this node is overloaded (self health degraded): it holds, so it backs another node. */
  selfDegraded?: () => boolean;
  /**
   * Why this node's latest request for `member`'s view said nothing about the member (this
   * node's own trouble: out of descriptors, its request queue), or undefined. Such a
   * member, when its view is stale, is not counted against it: this node keeps its backing.
   */
  ownTrouble?: (member: string) => string | undefined;
  /**
   * Why `member`'s view requests are refused when its measured clock offset is beyond what
   * a member accepts (clock-skew.ts), or undefined: a hold names the skew, not "unreachable".
   */
  skewOf?: (member: string) => string | undefined;
  /** Decision rule; default configuredQuorum. Tests pass other rules to compare. */
  rule?: QuorumRule;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The gate's rules about votes and other nodes' steps, as values: the product always runs
 * GATE_RULES; a test passes a weaker variant of one (written in the test) to show the
 * violation the shipped rule prevents (ablation).
 */
export interface GateRules {
  /** This node's next backing of a target (backing.ts). */
  nextBacking: (prev: string | undefined, input: BackingInput) => BackingMove;
  /** Whether a change of backing restarts its settle period: every change (backing.ts). */
  unsettles: (move: BackingMove, moved: boolean) => boolean;
  /**
   * How long views stay fresh, ms → the window after which a member this node backed and
   * that went silent no longer keeps it off the target (takeover.ts); undefined: never.
   */
  silentAfterMs: (freshMs: number) => number | undefined;
  /**
   * What makes this node's backing of `backs` count for nobody: any other member's step
   * on the target in flight, or a member it backed gone silent (takeover.ts).
   */
  othersBusy: (
    watch: TakeoverWatch,
    s: { target: string; views: () => ReceivedView[]; now: number; backedAt: BackedAt; backs: string },
  ) => PendingStep | undefined;
}

export const GATE_RULES: GateRules = {
  nextBacking,
  unsettles: (move, moved) => move.dropped || moved,
  silentAfterMs: (freshMs) => freshMs,
  othersBusy: (watch, s) => watch.pending(s.target, s.views(), s.now, s.backedAt, s.backs),
};

/** How this node decides about one target now (for logs, the API and tests). */
export interface MeshDecision extends QuorumFacts {
  verdict: GateVerdict;
  /** Why, in words. */
  why: string;
}

export interface MeshGate extends RemediationGate {
  /** Members counted reachable now (fresh view, heartbeat not OFFLINE/ISOLATED). */
  aliveMembers(): string[];
  /** Age of a member's latest view (since it was asked for), ms, or null when none was received. */
  viewAgeMs(member: string): number | null;
  /** This node and the reachable members whose view lists `target`. */
  observers(target: string): string[];
  /** The decision mayAct() would take now for a miss of `target` (updates the backing like mayAct). */
  decide(target: string): MeshDecision;
  /**
   * The node this node backs for `target` while it sees it failing (served in its view):
   * what its last miss of the target decided. Reading it changes nothing.
   */
  backing(target: string): Backing | undefined;
}

const FAILING_STATUSES = new Set(["DEGRADED", "OFFLINE", "ISOLATED"]);

/** True when a view entry (or this node's own health) shows the peer failing. */
export function showsFailing(p: { status: string; missed_count: number } | undefined): boolean {
  return p !== undefined && (FAILING_STATUSES.has(p.status) || p.missed_count > 0);
}

export function createMeshGate(opts: MeshGateOptions, rules: GateRules = GATE_RULES): MeshGate {
  const { self, confirm } = opts;
  const members = [...new Set(opts.members)].filter((m) => m !== self);
  const memberSet = new Set(members);
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? silentLogger;
  const rule = opts.rule ?? configuredQuorum;
  const maxAge = VIEW_FRESH_INTERVALS * opts.intervalMs;
  const settleMs = opts.settleMs ?? SETTLE_INTERVALS * opts.intervalMs;
  const ta = opts.takeoverAfterMs ?? defaultTakeoverAfterMs({}, opts.intervalMs);
  const takeoverAfterMs = typeof ta === "number" ? () => ta : ta;
  // Slack of one interval: a view may be served up to the poll timeout after it was asked for.
  const takeover = new TakeoverWatch(takeoverAfterMs, opts.intervalMs, rules.silentAfterMs(maxAge));
  const startedAt = clock.now();
  /** Per target: the node this node backs, and when its backing was last unsettled (null: never). */
  const backs = new Map<string, string>();
  const droppedAt = new Map<string, number | null>();
  /** Per target and member: when this node last backed that member (takeover.ts: silent members). */
  const backedAt = new Map<string, Map<string, number>>();
  /** Per target: when this node last decided to act (it started a step then). */
  const actedAt = new Map<string, number>();
  /** Last logged decision per target, so a change is logged once. */
  const logged = new Map<string, string>();

  const freshView = (m: string, now: number): ReceivedView | undefined => {
    const v = opts.view(m);
    return v && now - v.receivedAt <= maxAge ? v : undefined;
  };

  /** True when this node's own probe finds member `m` down or isolated. */
  const probedDown = (m: string): boolean => {
    const h = opts.health(m);
    return h !== undefined && (h.status === "OFFLINE" || h.status === "ISOLATED");
  };

  const reachable = (m: string, now: number): boolean => !probedDown(m) && freshView(m, now) !== undefined;

  /** What reachable members say about `target` (undefined: no entry); unreachable members are left out. */
  const entries = (target: string, now: number): Map<string, ReceivedPeer | undefined> => {
    const out = new Map<string, ReceivedPeer | undefined>();
    for (const m of members) {
      if (m === target || probedDown(m)) continue;
      const v = freshView(m, now);
      if (v) out.set(m, v.peers.get(target));
    }
    return out;
  };

  /** This node and the reachable members whose entry shows `target` failing. */
  const confirmingOf = (seen: Map<string, ReceivedPeer | undefined>): string[] => [
    self,
    ...[...seen.keys()].filter((m) => showsFailing(seen.get(m))),
  ];

  /** The latest view of every member but `except`, whatever its age (takeover.ts). */
  const latestViews = (except?: string): ReceivedView[] =>
    members.flatMap((m) => (m === except ? [] : (opts.view(m) ?? [])));

  /** When this node last backed each member for `target` (takeover.ts: silent members). */
  const backedAtFor =
    (target: string): BackedAt =>
    (m) =>
      backedAt.get(target)?.get(m);

  const observersOf = (target: string, now: number): string[] => [
    self,
    ...[...entries(target, now)].filter(([, p]) => p !== undefined).map(([m]) => m),
  ];

  /** Updates and returns this node's backing of `target`, given the nodes that confirm. */
  const updateBacking = (
    target: string,
    confirming: readonly string[],
    seen: Map<string, ReceivedPeer | undefined>,
    now: number,
  ): string => {
    const member = (name: string): BackingPeerFacts | undefined => {
      if (!memberSet.has(name)) return undefined;
      if (!seen.has(name) && !probedDown(name) && opts.ownTrouble?.(name) !== undefined)
        return { reachable: false, failing: false, unknown: true };
      const p = seen.get(name);
      return {
        reachable: seen.has(name),
        failing: showsFailing(p),
        ...(p?.backs === undefined ? {} : { backs: p.backs, settled: settledReport(p.backs_stable_ms) }),
        ...(freshView(name, now)?.degraded === true ? { degraded: true } : {}),
      };
    };
    const acted = Math.max(actedAt.get(target) ?? -Infinity, opts.lastOwnStepAt?.(target) ?? -Infinity);
    const recentOwnStep = now - acted < takeoverAfterMs(target);
    const selfDegraded = opts.selfDegraded?.() === true;
    const prev = backs.get(target);
    const move = rules.nextBacking(prev, { self, target, confirming, member, recentOwnStep, selfDegraded });
    let times = backedAt.get(target);
    if (!times) backedAt.set(target, (times = new Map()));
    // It backed `prev` until now, and backs `move.backs` from now.
    if (prev !== undefined) times.set(prev, now);
    times.set(move.backs, now);
    backs.set(target, move.backs);
    const moved = prev !== undefined && move.backs !== prev;
    if (rules.unsettles(move, moved)) droppedAt.set(target, now);
    return move.backs;
  };

  /** True when a member's reported backing counts (backs_stable_ms: null = never dropped). */
  const settledReport = (stableMs: number | null | undefined): boolean =>
    stableMs === null || stableMs === undefined || stableMs >= settleMs;

  /**
   * A hold that names unreachable members also says which of them this node could not ask
   * because of its own trouble: their silence is not theirs.
   */
  const ownTroubleSaid = (hold: string, reach: readonly string[]): string | undefined => {
    const mine = members.flatMap((m) => {
      const why = reach.includes(m) || probedDown(m) ? undefined : opts.ownTrouble?.(m);
      return why === undefined ? [] : [`${m} (${why})`];
    });
    return mine.length === 0
      ? undefined
      : `${hold}; this node's own trouble, not theirs, kept it from asking ${mine.join(", ")}`;
  };

  /** When this node's backing of `target` was last unsettled (null: never; starting counts). */
  const lastDrop = (target: string): number | null =>
    droppedAt.has(target) ? (droppedAt.get(target) as number | null) : startedAt;

  const decide = (target: string): MeshDecision => {
    const now = clock.now();
    const seen = entries(target, now);
    const reach = [...seen.keys()];
    const observers = [self, ...reach.filter((m) => seen.get(m) !== undefined)];
    const confirming = confirmingOf(seen);
    const isolatedBy = reach.filter((m) => seen.get(m)?.status === "ISOLATED");
    const b = updateBacking(target, confirming, seen, now);
    const backers: string[] = [];
    if (b === self && isSettled(lastDrop(target), now, settleMs)) backers.push(self);
    for (const m of confirming) {
      const p = seen.get(m);
      if (m !== self && p?.backs === self && settledReport(p.backs_stable_ms)) backers.push(m);
    }
    const facts: QuorumFacts = {
      self,
      target,
      mode: confirm,
      members,
      reachable: reach,
      observers,
      confirming,
      isolatedBy,
      backs: b,
      backers,
    };
    const skewed = new Map(
      members.flatMap((m) => {
        const why = reach.includes(m) ? undefined : opts.skewOf?.(m);
        return why === undefined ? [] : [[m, why] as const];
      }),
    );
    if (skewed.size > 0) facts.skewed = skewed;
    const verdict0 = rule(facts);
    const held =
      verdict0.act || verdict0.hold === undefined ? undefined : ownTroubleSaid(verdict0.hold, reach);
    const { why, ...ruled } = held === undefined ? verdict0 : { act: false as const, hold: held, why: held };
    const stalledStep = takeover.stalled(target, latestViews(), now);
    const stalled = stalledStep?.step
      ? `${stalledStep.node} started ${stalledStep.step.step} of ${target} ${Math.round(stalledStep.seenForMs)} ms ago ` +
        "and has not finished it within takeover_after; taking it over"
      : undefined;
    const verdict: GateVerdict = {
      ...ruled,
      ...(!ruled.act && ruled.hold === undefined ? { observe: why } : {}),
      ...(stalled === undefined ? {} : { stalled }),
    };
    if (verdict.act) {
      const busy = takeover.pending(target, latestViews(), now, backedAtFor(target));
      if (busy) {
        const ms = Math.round(busy.seenForMs);
        const why2 = busy.step
          ? `${busy.node} started ${busy.step.step} of ${target} ${ms} ms ago ` +
            "and has not finished it; waiting for takeover_after before taking it over"
          : `${busy.node} went silent ${ms} ms ago while it may have been remediating ${target}, ` +
            "so it may have a step in flight; waiting for takeover_after before acting";
        return { ...facts, verdict: { act: false, observe: why2 }, why: why2 };
      }
    }
    return { ...facts, verdict, why };
  };

  const logDecision = (d: MeshDecision): void => {
    const key = `${d.verdict.act}|${"hold" in d.verdict ? d.verdict.hold : ""}|${d.backs}|${d.why}`;
    if (logged.get(d.target) === key) return;
    logged.set(d.target, key);
    log.info(
      {
        peer: d.target,
        confirm,
        confirming: d.confirming,
        backs: d.backs,
        backers: d.backers,
        reachable: d.reachable,
        act: d.verdict.act,
      },
      d.verdict.act
        ? `mesh: remediating: ${d.why}`
        : "hold" in d.verdict && d.verdict.hold !== undefined
          ? `mesh: ${d.why}`
          : `mesh: observing only: ${d.why}`,
    );
  };

  return {
    mayAct(target) {
      if (memberSet.has(target)) return { act: true };
      const d = decide(target);
      logDecision(d);
      if (d.verdict.act) actedAt.set(target, clock.now());
      return d.verdict;
    },
    owner(target, seen) {
      if (memberSet.has(target)) return self;
      const b = backs.get(target);
      if (b !== undefined && showsFailing(seen ?? opts.health(target))) return b;
      return rendezvousOwner(target, observersOf(target, clock.now())) as string;
    },
    backing(target) {
      // A read never changes a vote: this is the backing this node's last miss of the
      // target decided (mayAct), none before its first. Asked for every peer of every view
      // served, so the peer's health is read only when there is a backing to show.
      if (memberSet.has(target)) return undefined;
      const b = backs.get(target);
      if (b === undefined || !showsFailing(opts.health(target))) return undefined;
      const now = clock.now();
      // While another member has a step on the target in flight (or went silent after this
      // node backed it, and may have one), this node's backing of another node counts for
      // nobody (takeover.ts): that member may have counted this node's older backing.
      const busy = rules.othersBusy(takeover, {
        target,
        views: () => latestViews(),
        now,
        backedAt: backedAtFor(target),
        backs: b,
      });
      if (busy) return { backs: b, stableMs: 0 };
      const d = lastDrop(target);
      return { backs: b, stableMs: d === null ? null : Math.max(0, now - d) };
    },
    aliveMembers() {
      const now = clock.now();
      return members.filter((m) => reachable(m, now));
    },
    viewAgeMs(member) {
      const v = opts.view(member);
      return v ? Math.max(0, clock.now() - v.receivedAt) : null;
    },
    observers: (target) => observersOf(target, clock.now()),
    decide,
  };
}
