// The fleet's key layout in etcd, under the configured prefix. Every key a node writes is
// bound to that node's lease, so when the lease expires etcd deletes them all at once:
//
//   <prefix>/members/<node>        {node, host, url, since}: the node is in the fleet
//   <prefix>/obs/<peer>/<node>     "failing" | "ok": what <node> sees of <peer> (written on change)
//   <prefix>/steps/<peer>          {node, host, kind, at}: the step on <peer> in progress;
//                                  its create revision is the step's fencing token
//   <prefix>/down/<host>           {node, host, kind: "fence", at}: <host> has no live node; the
//                                  one node holding this key reports it and runs its fence

export interface FleetKeys {
  root: string;
  member(node: string): string;
  members: string;
  obs(peer: string, node: string): string;
  observations: string;
  step(peer: string): string;
  steps: string;
  fence(host: string): string;
}

export function fleetKeys(prefix: string): FleetKeys {
  const root = prefix.endsWith("/") ? prefix : `${prefix}/`;
  return {
    root,
    members: `${root}members/`,
    member: (node) => `${root}members/${node}`,
    observations: `${root}obs/`,
    obs: (peer, node) => `${root}obs/${peer}/${node}`,
    steps: `${root}steps/`,
    step: (peer) => `${root}steps/${peer}`,
    fence: (host) => `${root}down/${host}`,
  };
}

/** What a member key holds. */
export interface MemberRecord {
  node: string;
  host: string;
  /** The node's API base URL (what /v1/sd lists), when it serves one. */
  url?: string;
  /** Epoch ms the node joined (this lease). */
  since: number;
}

/** What a step or fence key holds. */
export interface StepRecord {
  node: string;
  host: string;
  kind: "restart" | "isolate" | "release" | "fence";
  /** Epoch ms the step was taken. */
  at: number;
}

/** A live member, as this node's watch sees it. */
export interface FleetMember extends MemberRecord {
  /** The lease the member key is bound to (hex). */
  lease: string;
}

/** The fleet as this node sees it in etcd (GET /v1/fleet, without the hosts it reports down). */
export interface FleetStatus {
  node: string;
  host: string;
  /** "ok": lease valid; "unreachable": etcd did not answer in time (steps held); "starting". */
  etcd: "ok" | "unreachable" | "starting";
  /** Why coordinated steps are held now; null when they are not. */
  held: string | null;
  lease: string | null;
  members: FleetMember[];
  steps: (StepRecord & { peer: string; token: string })[];
}

/** GET /v1/fleet: the fleet as this node sees it, with the hosts it reports unreachable. */
export type FleetStatusView = FleetStatus & { hosts_unreachable: string[] };
