// Why a reload cannot be applied over the containers discovery found, although the file
// is valid (the caller refuses it and nothing changes):
//   - a peer newly added under `peers` takes the name of a container being watched: two
//     peers cannot share a name; rename one (wdmesh.name) or remove the container first;
//   - `peers_from` changes while a container it found is ISOLATED: the new selection may
//     not match it, and its peer would go with its isolation still in force and nothing
//     to release it; release it first (as for a configured peer removed by a reload).
// Takes the resolved config's shape structurally (config/ is a later layer).
import type { DiscoveryConfig } from "./start.js";
import { discoverySettings } from "./start.js";

interface Watched {
  name: string;
  status: string;
}

/** The peers discovery added: watched, but neither configured nor a mesh member. */
function discovered(watched: readonly Watched[], current: DiscoveryConfig): Watched[] {
  const configured = new Set(current.peers.map((p) => p.name));
  for (const m of current.mesh?.members ?? []) configured.add(m.name);
  return watched.filter((w) => !configured.has(w.name));
}

export function discoveryReloadProblems(
  watched: readonly Watched[],
  current: DiscoveryConfig,
  next: DiscoveryConfig,
): Array<{ path: string; message: string }> {
  const found = discovered(watched, current);
  if (found.length === 0) return [];
  const problems: Array<{ path: string; message: string }> = [];
  const names = new Set(found.map((w) => w.name));
  for (const p of next.peers) {
    if (!names.has(p.name)) continue;
    problems.push({
      path: `peers.${p.name}`,
      message: `a container found by peers_from is already watched as peer "${p.name}": give the configured peer another name, or rename the container's peer (label wdmesh.name) or remove the container first`,
    });
  }
  if (discoverySettings(current) !== discoverySettings(next)) {
    for (const w of found.filter((x) => x.status === "ISOLATED")) {
      problems.push({
        path: "peers_from",
        message: `peer "${w.name}" (a container found by peers_from) is ISOLATED and peers_from cannot change meanwhile (the new selection may drop it with its isolation in force): release it first (wdmesh release ${w.name}), then reload`,
      });
    }
  }
  return problems;
}
