// Peer dependencies (`depends_on`) as pure rules: the failing dependency a peer's own
// failures are put down to (its root cause), the peers that depend on one, and cycles.
// While a dependency fails, its dependents are not remediated and not paged separately:
// their failures join the root's incident; when the root recovers they get a fresh
// startup_grace before their misses count again.
import type { PeerStatus } from "./types.js";

/** Who depends on whom: peer name → the names it depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/** A peer is failing (for its dependents) while it is DEGRADED, OFFLINE or ISOLATED. */
export function isFailingStatus(status: PeerStatus): boolean {
  return status === "DEGRADED" || status === "OFFLINE" || status === "ISOLATED";
}

/**
 * The first cycle of `graph` as a path that ends where it starts (["a", "b", "a"]), or
 * null. Names not in the graph as keys are leaves.
 */
export function dependencyCycle(graph: DependencyGraph): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    const s = state.get(n);
    if (s === "done") return null;
    if (s === "visiting") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "visiting");
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/**
 * The root cause of `name`'s failures: a failing dependency (direct or further down)
 * that has no failing dependency of its own; null when none of its dependencies fails.
 * Depth first, in the listed order; bounded by the graph's size (a cycle is ignored).
 */
export function failingRoot(
  name: string,
  graph: DependencyGraph,
  failing: (peer: string) => boolean,
): string | null {
  const seen = new Set<string>([name]);
  const down = (n: string): string | null => {
    for (const d of graph.get(n) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      if (!failing(d)) continue;
      return down(d) ?? d;
    }
    return null;
  };
  return down(name);
}

/** Every peer that depends on `name`, directly or further up, sorted. */
export function dependentsOf(name: string, graph: DependencyGraph): string[] {
  const out = new Set<string>();
  const queue = [name];
  for (let i = 0; i < queue.length && i <= graph.size; i++) {
    const target = queue[i] as string;
    for (const [peer, deps] of graph) {
      if (deps.includes(target) && !out.has(peer) && peer !== name) {
        out.add(peer);
        queue.push(peer);
      }
    }
  }
  return [...out].sort();
}
