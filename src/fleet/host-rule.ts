// The host rule: a peer is restarted, isolated and released only by a node on the peer's
// host (systemctl and container engines act on the local machine only); nodes on other
// hosts only watch it and confirm. It wraps whatever gate decides the rest (the built-in
// mesh's quorum, the fleet's, or none), so the rule is the same in every setup. In a fleet
// such a watcher also stays quiet while the peer is paged elsewhere (remote-quiet.ts).
import type { GateVerdict, RemediationGate } from "../core/gate.js";
import type { PeerStatus } from "../core/types.js";

export interface HostRuleOptions {
  /** This node's name. */
  self: string;
  /** This node's host. */
  selfHost: string;
  /** The host a peer runs on; undefined = this node's host. */
  peerHost: (peer: string) => string | undefined;
  /** Who acts for a peer on another host (e.g. that host's node), for PeerHealth.owner; default the host's name. */
  ownerOn?: (host: string, peer: string) => string | undefined;
  /**
   * Whether a miss of a peer on another host is paged elsewhere now (its host's node pages
   * it, or the host is down and paged once): the miss is then quiet here. Default: never.
   */
  quietOn?: (host: string, peer: string) => boolean;
}

/** True when `peer` runs on this node's host (so this node may act on it). */
export function onThisHost(opts: Pick<HostRuleOptions, "selfHost" | "peerHost">, peer: string): boolean {
  return (opts.peerHost(peer) ?? opts.selfHost) === opts.selfHost;
}

/** `inner` (or "always act") restricted to the peers of this node's host; the others are watched only. */
export function withHostRule(inner: RemediationGate | undefined, opts: HostRuleOptions): RemediationGate {
  return {
    mayAct(peer: string): GateVerdict {
      if (!onThisHost(opts, peer)) {
        const host = opts.peerHost(peer) ?? opts.selfHost;
        return opts.quietOn?.(host, peer) === true ? { act: false, quiet: true } : { act: false };
      }
      return inner ? inner.mayAct(peer) : { act: true };
    },
    owner(peer: string, seen?: { status: PeerStatus; missed_count: number }): string {
      if (!onThisHost(opts, peer)) {
        const host = opts.peerHost(peer) ?? opts.selfHost;
        return opts.ownerOn?.(host, peer) ?? host;
      }
      return inner ? inner.owner(peer, seen) : opts.self;
    },
  };
}
