// Prometheus http_sd: every live node of the fleet as a scrape target (its API's host:port,
// where /metrics is served), labelled with its node and host names.
// https://prometheus.io/docs/prometheus/latest/http_sd/
import type { MemberRecord } from "./keys.js";

export interface HttpSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** One group per member that lists an API URL; members without one are left out. */
export function httpSdGroups(members: readonly MemberRecord[]): HttpSdGroup[] {
  const out: HttpSdGroup[] = [];
  for (const m of members) {
    if (!m.url) continue;
    let u: URL;
    try {
      u = new URL(m.url);
    } catch {
      continue;
    }
    out.push({
      targets: [u.host],
      labels: { __scheme__: u.protocol.replace(":", ""), wdmesh_node: m.node, wdmesh_host: m.host },
    });
  }
  return out;
}
