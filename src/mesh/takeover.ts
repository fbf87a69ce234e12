// Remediation steps other nodes have started, as their views report them. While another
// node's step on a target is in flight, this node does not act on that target; it takes
// the step over only after `takeover_after` has passed since it first saw the step
// without seeing it finish (the other node may have died mid-step). A step that finished
// also keeps this node off the target until takeover_after after it started: the next
// step of that incident is its own node's (e.g. the next restart attempt), not another's.
// The caller acts on a fresh miss only, so a takeover always follows a new probe.
import { DEFAULT_COMMAND_TIMEOUT_MS } from "../act/command.js";
import { DEFAULT_SYSTEMCTL_TIMEOUT_MS } from "../act/systemctl.js";
import { parseDuration } from "../core/duration.js";
import type { PeerSpec } from "../core/options.js";
import type { InFlightView, ReceivedView } from "./views.js";

export interface PendingStep {
  node: string;
  step: InFlightView;
  /** ms since this node first saw the step. */
  seenForMs: number;
}

export class TakeoverWatch {
  /** First time (this node's clock) each step was seen; key: node + step identity. */
  private readonly firstSeen = new Map<string, number>();

  /**
   * @param takeoverAfterMs takeover_after of a peer, ms
   * @param slackMs added to a finished step's reported age window: the view may have been
   *   served up to this long after it was asked for (the poll timeout; default 0)
   */
  constructor(
    private readonly takeoverAfterMs: (peer: string) => number,
    private readonly slackMs = 0,
  ) {}

  /**
   * The oldest-seen step on `target` by another node that is still within its takeover
   * window, if any. `views` are the latest views of the members, whatever their age: a
   * member that died mid-step keeps blocking until the window has passed.
   */
  pending(target: string, views: Iterable<ReceivedView>, now: number): PendingStep | undefined {
    const live = new Set<string>();
    let found: PendingStep | undefined;
    for (const v of views) {
      for (const s of v.inFlight) {
        if (s.finished === true) {
          // Its age when served, plus the time since it was asked for, is a lower bound
          // on its age now only up to the slack; keep off for the slack too.
          const age = (s.age_ms ?? 0) + Math.max(0, now - v.receivedAt);
          if (s.peer === target && age < this.takeoverAfterMs(target) + this.slackMs) {
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
        if (s.peer === target && seenForMs < this.takeoverAfterMs(target)) {
          if (!found || seenForMs > found.seenForMs) found = { node: v.node, step: s, seenForMs };
        }
      }
    }
    // A step no longer in its node's latest view has finished: forget it.
    for (const k of this.firstSeen.keys()) if (!live.has(k)) this.firstSeen.delete(k);
    return found;
  }
}

/**
 * The default takeover_after of a peer, ms: its restart method's timeout (30 s unless
 * set; the executors' default) plus one probe interval.
 */
export function defaultTakeoverAfterMs(peer: Pick<PeerSpec, "restart">, intervalMs: number): number {
  const r = peer.restart;
  const t =
    r === undefined || r === "none" ? undefined : "systemd" in r ? r.systemd.timeout : r.command.timeout;
  const timeoutMs =
    t === undefined
      ? r !== undefined && r !== "none" && "systemd" in r
        ? DEFAULT_SYSTEMCTL_TIMEOUT_MS
        : DEFAULT_COMMAND_TIMEOUT_MS
      : parseDuration(t);
  return timeoutMs + intervalMs;
}
