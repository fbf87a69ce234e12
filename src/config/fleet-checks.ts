// Cross-field rules of the fleet's config (coordination.etcd, hosts, node.host): the lease
// timing rule, and what needs etcd. Run on the interpolated raw document, defensively.
import { FLEET_DEFAULTS } from "../core/defaults.js";
import { parseDuration, type Duration } from "../core/duration.js";
import { leaseTimingProblem } from "../core/rules.js";
import type { RawIssue } from "./cross-checks.js";
import { isObj } from "./rules.js";

function ms(v: unknown, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  try {
    return parseDuration(v as Duration);
  } catch {
    return undefined; // the schema reports it
  }
}

export function fleetIssues(doc: Record<string, unknown>): RawIssue[] {
  const out: RawIssue[] = [];
  const coord = isObj(doc.coordination) ? doc.coordination : undefined;
  const etcd = coord && isObj(coord.etcd) ? coord.etcd : undefined;
  if (etcd) {
    const leaseTtlMs = ms(etcd.lease_ttl, FLEET_DEFAULTS.leaseTtlMs);
    const keepaliveIntervalMs = ms(etcd.keepalive_interval, FLEET_DEFAULTS.keepaliveIntervalMs);
    const requestTimeoutMs = ms(etcd.request_timeout, FLEET_DEFAULTS.requestTimeoutMs);
    if (leaseTtlMs !== undefined && leaseTtlMs < 2_000)
      out.push({
        path: ["coordination", "etcd", "lease_ttl"],
        message: "must be at least 2s (etcd leases count whole seconds)",
      });
    if (requestTimeoutMs !== undefined && requestTimeoutMs < 100)
      out.push({ path: ["coordination", "etcd", "request_timeout"], message: "must be at least 100ms" });
    if (keepaliveIntervalMs !== undefined && keepaliveIntervalMs < 100)
      out.push({ path: ["coordination", "etcd", "keepalive_interval"], message: "must be at least 100ms" });
    if (leaseTtlMs !== undefined && keepaliveIntervalMs !== undefined && requestTimeoutMs !== undefined) {
      const problem = leaseTimingProblem({ leaseTtlMs, keepaliveIntervalMs, requestTimeoutMs });
      if (problem) out.push({ path: ["coordination", "etcd", "lease_ttl"], message: problem });
    }
    if (doc.mesh !== undefined)
      out.push({
        path: ["coordination"],
        message: "is set together with mesh: a fleet on etcd replaces the built-in mesh's views",
        hint: "keep either mesh (a single host, views between members) or coordination.etcd (a fleet)",
      });
  }
  const hosts = Array.isArray(doc.hosts) ? doc.hosts : [];
  const seen = new Set<string>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    if (typeof h.name === "string") {
      if (seen.has(h.name))
        out.push({ path: ["hosts", i, "name"], message: `duplicate host name "${h.name}"` });
      seen.add(h.name);
    }
    if (h.fence !== undefined && !etcd)
      out.push({
        path: ["hosts", i, "fence"],
        message: "needs coordination.etcd: a fence runs only with a fencing token taken in etcd",
      });
  });
  return out;
}
