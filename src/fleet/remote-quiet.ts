// One page per failure across hosts. A node watching a peer on another host does not page
// its misses while they are paged elsewhere:
//   - the peer's host is down (a node holds its down key): one `host_unreachable` pages
//     for every agent on it;
//   - no node on the peer's host holds a live lease: the host is about to be declared down;
//   - the host's node is live and has not (yet) seen the peer fail: it is the one that
//     pages and acts, so this node waits for it, at most `waitMs` after the first miss it
//     kept quiet (then it pages: the host's node sees the peer answer while others do not,
//     or cannot say so).
// Once the host's node publishes the peer as failing, this node's misses are not quiet: it
// reports them as every watcher does, under the same incident labels. Without a valid lease
// of its own this node judges on the last view it had of etcd; the wait still bounds how
// long it keeps a live host's peer quiet. Quiet misses still count and are shown and
// published, so the host's node gets its quorum from them.
import type { FleetNode } from "./fleet-node.js";

export type RemoteQuietFleet = Pick<FleetNode, "hostDownBy" | "membersOn" | "observations">;

export class RemoteQuiet {
  /** Peer → monotonic ms of the first miss kept quiet while waiting for its host's node. */
  private readonly waiting = new Map<string, number>();
  /** Peers whose last miss was kept quiet (until they answer or a miss is paged). */
  private readonly quiet = new Set<string>();

  constructor(
    private readonly fleet: RemoteQuietFleet,
    /** Longest wait for the host's node to confirm a failure, ms. */
    private readonly waitMs: number,
    private readonly mono: () => number = () => performance.now(),
  ) {}

  /** Why a miss of `peer` on `host` (another host) is quiet here now; undefined when this node pages it. */
  reason(host: string, peer: string): string | undefined {
    const why = this.why(host, peer);
    if (why === undefined) this.quiet.delete(peer);
    else this.quiet.add(peer);
    return why;
  }

  /** Peers whose misses are quiet now, by name (wdmesh_fleet_peer_quiet). */
  quietPeers(): string[] {
    return [...this.quiet].sort();
  }

  private why(host: string, peer: string): string | undefined {
    if (this.fleet.hostDownBy(host)) return `host ${host} is unreachable and paged once as such`;
    const there = new Set(this.fleet.membersOn(host).map((m) => m.node));
    if (there.size === 0)
      return `no node on host ${host} holds a lease (the host is being declared unreachable)`;
    if (this.fleet.observations(peer).failing.some((n) => there.has(n))) return undefined;
    const now = this.mono();
    const since = this.waiting.get(peer) ?? now;
    this.waiting.set(peer, since);
    if (now - since >= this.waitMs) return undefined;
    return `waiting for host ${host}'s node (${[...there].sort().join(", ")}) to confirm the failure`;
  }

  /** This node's view of `peer`: once it answers, its next failure waits afresh. */
  seen(peer: string, failing: boolean): void {
    if (failing) return;
    this.waiting.delete(peer);
    this.quiet.delete(peer);
  }
}
