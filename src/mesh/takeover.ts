// Remediation steps other nodes have started and not finished, as their views report
// them. While another node's step on a target is in flight, this node does not act on
// that target; it takes the step over only after `takeover_after` has passed since it
// first saw the step without seeing it finish (the other node may have died mid-step).
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

  constructor(private readonly takeoverAfterMs: (peer: string) => number) {}

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
