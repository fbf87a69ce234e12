// Remediation steps other nodes have started, as their views report them. While another
// node's step on a target is in flight, this node does not act on that target; it takes
// the step over only after `takeover_after` has passed since it first saw the step
// without seeing it finish (the other node may have died mid-step). A step that finished
// also keeps this node off the target until takeover_after after it started: the next
// step of that incident is its own node's (e.g. the next restart attempt), not another's.
// The caller acts on a fresh miss only, so a takeover always follows a new probe.
// While this node sees such a step (of a member other than the one it backs), its own
// backing counts for nobody (gate.ts): the member may have started the step with this
// node's older backing, and a node cut off from the member would not see the step.
//
// A member can also die before any other node saw its step: it starts a restart and is
// killed within one view poll. It went SILENT as a possible remediator when its latest
// view is stale (asked for longer ago than views stay fresh) and this node backed it for
// the target when it was last heard, or within the view freshness window before (it may
// still have counted that backing). Until takeover_after (plus the slack) has passed since
// its view went stale, this node keeps off the target, and its own backing of any other
// node counts for nobody (gate.ts). That is enough for every node: the member acted only
// with a quorum of backers, any other node needs a quorum too, and two quorums of the
// configured nodes share a node, which backed the silent member and so lends its vote to
// nobody. (The step may have started after the member's view was asked for, and one or two
// later polls may have been lost before it died: counting from when its view went stale
// covers both.) What the member's own view said does not matter: it may have seen the
// target fail, counted an old backing and started a step, all between two polls. The
// cost: a takeover after a remediator's death mid-incident waits for takeover_after, even
// when the member had not started anything.
import { ACTION_DEFAULTS } from "../core/defaults.js";
import { parseDuration } from "../core/duration.js";
import type { PeerSpec } from "../core/options.js";
import { containerRestartDeadlineMs } from "../core/container.js";
import type { InFlightView, ReceivedView } from "./views.js";

export interface PendingStep {
  node: string;
  /** The step, as its node's view listed it; absent for a silent member (see above). */
  step?: InFlightView;
  /** ms since this node first saw the step, or since the silent member's view went stale. */
  seenForMs: number;
}

export class TakeoverWatch {
  /** First time (this node's clock) each step was seen; key: node + step identity. */
  private readonly firstSeen = new Map<string, number>();

  /**
   * @param takeoverAfterMs takeover_after of a peer, ms
   * @param slackMs added to a finished step's reported age window: the view may have been
   *   served up to this long after it was asked for (the poll timeout; default 0)
   * @param freshMs views asked for longer ago than this are stale, ms; when set, a member
   *   this node backed for the target and whose view went stale blocks it (see above);
   *   default: off
   */
  constructor(
    private readonly takeoverAfterMs: (peer: string) => number,
    private readonly slackMs = 0,
    private readonly freshMs?: number,
  ) {}

  /**
   * The oldest-seen step on `target` by another node that is still within its takeover
   * window, if any, or a silent member that may have started one. `views` are the latest
   * views of the members, whatever their age: a member that died mid-step keeps blocking
   * until the window has passed. Steps of `except` are tracked but not returned.
   */
  pending(
    target: string,
    views: Iterable<ReceivedView>,
    now: number,
    backedAt?: BackedAt,
    except?: string,
  ): PendingStep | undefined {
    const live = new Set<string>();
    let found: PendingStep | undefined;
    for (const v of views) {
      const counts = v.node !== except;
      if (!found && counts) {
        const silentFor = this.silentForMs(target, v, now, backedAt);
        if (silentFor !== undefined) found = { node: v.node, seenForMs: silentFor };
      }
      for (const s of v.inFlight) {
        if (s.finished === true) {
          // Its age when served, plus the time since it was asked for, is a lower bound
          // on its age now only up to the slack; keep off for the slack too.
          const age = (s.age_ms ?? 0) + Math.max(0, now - v.receivedAt);
          if (counts && s.peer === target && age < this.takeoverAfterMs(target) + this.slackMs) {
            if (!found) found = { node: v.node, step: s, seenForMs: age };
          }
          continue;
        }
        const key = JSON.stringify([v.node, s.peer, s.incident, s.step, s.attempt, s.started_at]);
        live.add(key);
        let first = this.firstSeen.get(key);
        if (first === undefined) {
          first = v.receivedAt;
          this.firstSeen.set(key, first);
        }
        const seenForMs = Math.max(0, now - first);
        if (counts && s.peer === target && seenForMs < this.takeoverAfterMs(target)) {
          if (!found || seenForMs > found.seenForMs) found = { node: v.node, step: s, seenForMs };
        }
      }
    }
    // A step no longer in its node's latest view has finished: forget it.
    for (const k of this.firstSeen.keys()) if (!live.has(k)) this.firstSeen.delete(k);
    return found;
  }

  /**
   * A step on `target` by another node still listed as running although this node first
   * saw it at least takeover_after ago (its node may have died mid-step, or the command
   * hangs): this node may take it over, and says so (remediation_stalled).
   */
  stalled(target: string, views: Iterable<ReceivedView>, now: number): PendingStep | undefined {
    for (const v of views) {
      for (const s of v.inFlight) {
        if (s.finished === true || s.peer !== target) continue;
        const key = JSON.stringify([v.node, s.peer, s.incident, s.step, s.attempt, s.started_at]);
        const first = this.firstSeen.get(key);
        if (first !== undefined && now - first >= this.takeoverAfterMs(target))
          return { node: v.node, step: s, seenForMs: now - first };
      }
    }
    return undefined;
  }

  /** The first member among `views` gone silent as a possible remediator of `target` (see above), if any. */
  silent(
    target: string,
    views: Iterable<ReceivedView>,
    now: number,
    backedAt?: BackedAt,
  ): PendingStep | undefined {
    for (const v of views) {
      const silentFor = this.silentForMs(target, v, now, backedAt);
      if (silentFor !== undefined) return { node: v.node, seenForMs: silentFor };
    }
    return undefined;
  }

  /** ms since `v` went stale when its node is a silent possible remediator of `target` (see above) within its window. */
  private silentForMs(
    target: string,
    v: ReceivedView,
    now: number,
    backedAt: BackedAt | undefined,
  ): number | undefined {
    if (this.freshMs === undefined) return undefined;
    const silentFor = now - v.receivedAt - this.freshMs;
    if (silentFor <= 0 || silentFor >= this.takeoverAfterMs(target) + this.slackMs) return undefined;
    const mine = backedAt?.(v.node);
    return mine !== undefined && mine >= v.receivedAt - this.freshMs ? silentFor : undefined;
  }
}

/** When this node last backed `member` to remediate the target (its clock), if it did. */
export type BackedAt = (member: string) => number | undefined;

/**
 * The default takeover_after of a peer, ms: its restart method's timeout (30 s unless
 * set; the executors' default) plus one probe interval. Without a known restart method,
 * the longer of the executors' defaults: waiting too long never repeats a step.
 */
export function defaultTakeoverAfterMs(peer: Pick<PeerSpec, "restart">, intervalMs: number): number {
  const r = peer.restart;
  let timeoutMs: number;
  if (r === undefined || r === "none")
    timeoutMs = Math.max(ACTION_DEFAULTS.commandTimeoutMs, ACTION_DEFAULTS.systemctlTimeoutMs);
  else if ("systemd" in r)
    timeoutMs =
      r.systemd.timeout === undefined ? ACTION_DEFAULTS.systemctlTimeoutMs : parseDuration(r.systemd.timeout);
  else if ("container" in r) timeoutMs = containerRestartDeadlineMs(r.container);
  else
    timeoutMs =
      r.command.timeout === undefined ? ACTION_DEFAULTS.commandTimeoutMs : parseDuration(r.command.timeout);
  return timeoutMs + intervalMs;
}
