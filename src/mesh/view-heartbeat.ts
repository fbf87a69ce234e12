// A member's heartbeat answered by its view. Every node polls each member's view once per
// interval with a fresh nonce, signed and bound to this node and the mesh; a view verified
// since the member's previous heartbeat proves all that heartbeat would (the member is up,
// holds the mesh key or its own identity, and answered this node just now), so the
// heartbeat's own exchange is skipped and the mesh costs one HTTP exchange per member per
// interval instead of two. When no such view arrived (the poll failed, was late, or the
// member said it cannot record what it does, or did not say whether it can), the heartbeat
// is probed as before, so a miss is always the heartbeat's own, with its own reason.
import type { ProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import type { ReceivedView } from "./views.js";
import { withoutTrailingSlash } from "../core/base-url.js";

export class ViewHeartbeats {
  /** Per member: when its previous heartbeat was due (epoch ms, the node's clock). */
  private readonly previous = new Map<string, number>();
  /** Member name → base URL. */
  private readonly members: ReadonlyMap<string, string>;

  constructor(
    members: ReadonlyArray<{ name: string; url: string }>,
    private readonly latest: (member: string) => ReceivedView | undefined,
  ) {
    this.members = new Map(members.map((m) => [m.name, withoutTrailingSlash(m.url)]));
  }

  /**
   * The result of a member's heartbeat at `now` from a view asked after its previous
   * heartbeat, or undefined when the heartbeat must be probed (not a member's heartbeat,
   * its first one, or no such view).
   */
  answer(spec: ProbeSpec, now: number): ProbeResult | undefined {
    if (!("heartbeat" in spec)) return undefined;
    const { node, url } = spec.heartbeat;
    // A member's heartbeat spec carries its base URL already without trailing slashes
    // (memberPeerSpec), as this map does: no normalising on every probe. Any other spelling
    // is another peer's heartbeat, probed as it always was.
    if (this.members.get(node) !== url) return undefined;
    const previous = this.previous.get(node);
    this.previous.set(node, now);
    const view = this.latest(node);
    if (previous === undefined || view === undefined || view.receivedAt <= previous) return undefined;
    // Only a view that says its node is fit answers (one that does not say, of an older
    // node, leaves its /health to say it).
    if (view.unfit !== null) return undefined;
    return { ok: true, duration_ms: view.rttMs ?? 0 };
  }
}
