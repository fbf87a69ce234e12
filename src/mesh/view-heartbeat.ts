// A member's heartbeat answered by its view. Every node polls each member's view once per
// interval with a fresh nonce, signed and bound to this node and the mesh; a view verified
// since the member's previous heartbeat proves all that heartbeat would (the member is up,
// holds the mesh key or its own identity, and answered this node just now), so the
// heartbeat's own exchange is skipped and the mesh costs one HTTP exchange per member per
// interval instead of two. When no such view arrived (the poll failed, was late, or the
// member said it cannot record what it does, or did not say whether it can), the heartbeat
// is probed as before, so a miss is always the heartbeat's own, with its own reason.
//
// A member that streams its views writes them on its own timer, which may tick a moment
// after this node's heartbeat of it (both start together): then the heartbeat waits a
// little for the view on its way (answerOrWait) before it probes.
import type { ProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import type { ReceivedView } from "./views.js";
import { withoutTrailingSlash } from "../core/base-url.js";

/** Waits up to `ms` for `member`'s next view; true when one arrived (false at once when none is streaming). */
export type ViewWaiter = (member: string, ms: number, signal: AbortSignal) => Promise<boolean>;

/**
 * True when `view` came since the previous heartbeat (at `previous`; this one is at `now`).
 * A polled view: asked after it. A streamed view: arrived after it, and made (at the
 * earliest its date, which is the stream's request plus the member's elapsed time, so
 * looser the slower the member took the request) no earlier than one heartbeat period
 * before it; a line held back longer does not answer.
 */
function sincePrevious(view: ReceivedView, previous: number, now: number): boolean {
  if (view.arrivedAt === undefined) return view.receivedAt > previous;
  return view.arrivedAt > previous && view.receivedAt > previous - Math.max(0, now - previous);
}

export class ViewHeartbeats {
  /** Per member: when its previous heartbeat was due (epoch ms, the node's clock). */
  private readonly previous = new Map<string, number>();
  /** Member name to base URL. */
  private readonly members: ReadonlyMap<string, string>;

  constructor(
    members: ReadonlyArray<{ name: string; url: string }>,
    private readonly latest: (member: string) => ReceivedView | undefined,
    private readonly waitView?: ViewWaiter,
  ) {
    this.members = new Map(members.map((m) => [m.name, withoutTrailingSlash(m.url)]));
  }

  /**
   * The result of a member's heartbeat at `now` from a view asked after its previous
   * heartbeat, or undefined when the heartbeat must be probed (not a member's heartbeat,
   * its first one, or no such view).
   */
  answer(spec: ProbeSpec, now: number): ProbeResult | undefined {
    const r = this.check(spec, now);
    return r !== undefined && "ok" in r ? r : undefined;
  }

  /**
   * As answer(), but when no view came since the previous heartbeat and the member streams
   * its views, waits up to `waitMs` for the next one first (undefined: probe it). A promise
   * only when it waits: a probe of any other peer, or an answer at hand, costs none.
   */
  answerOrWait(
    spec: ProbeSpec,
    now: number,
    waitMs: number,
    signal: AbortSignal,
  ): ProbeResult | undefined | Promise<ProbeResult | undefined> {
    const r = this.check(spec, now);
    if (r === undefined || "ok" in r) return r;
    if (this.waitView === undefined || waitMs <= 0) return undefined;
    return this.waitFor(this.waitView, r.member, r.previous, now, waitMs, signal);
  }

  /** Waits for `member`'s next view, then answers from it as answer() would. */
  private async waitFor(
    wait: ViewWaiter,
    member: string,
    previous: number,
    now: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<ProbeResult | undefined> {
    const started = performance.now();
    if (!(await wait(member, waitMs, signal))) return undefined;
    const result = this.fromView(member, previous, now);
    return result && { ...result, duration_ms: Math.round(performance.now() - started) };
  }

  /**
   * True when `spec` is the heartbeat of a member whose views this node takes. A member's
   * heartbeat spec carries its base URL already without trailing slashes (memberPeerSpec),
   * as this map does: no normalising on every probe. Any other spelling is another peer's
   * heartbeat, probed as it always was.
   */
  isMember(spec: ProbeSpec): boolean {
    return "heartbeat" in spec && this.members.get(spec.heartbeat.node) === spec.heartbeat.url;
  }

  /** A member heartbeat's result from its view; else what a late view must beat (or undefined: not one to answer). */
  private check(
    spec: ProbeSpec,
    now: number,
  ): ProbeResult | { member: string; previous: number } | undefined {
    if (!this.isMember(spec) || !("heartbeat" in spec)) return undefined;
    const { node } = spec.heartbeat;
    const previous = this.previous.get(node);
    this.previous.set(node, now);
    if (previous === undefined) return undefined;
    return this.fromView(node, previous, now) ?? { member: node, previous };
  }

  /** Success when `member`'s latest view was asked after `previous` and says its node is fit. */
  private fromView(member: string, previous: number, now: number): ProbeResult | undefined {
    const view = this.latest(member);
    if (view === undefined || !sincePrevious(view, previous, now)) return undefined;
    // Only a view that says its node is fit answers (one that does not say, of an older
    // node, leaves its /health to say it).
    if (view.unfit !== null) return undefined;
    return { ok: true, duration_ms: view.rttMs ?? 0 };
  }
}
