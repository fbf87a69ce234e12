// peers[].depends_on: every name is another peer of the file (with a "did you mean" for a
// typo), no peer depends on itself, and the dependencies have no cycle (named as a path).
import { dependencyCycle } from "../core/dependencies.js";
import { closestKey } from "./suggest.js";
import type { RawIssue } from "./cross-checks.js";
import { isObj } from "./rules.js";

export function checkDependencies(peers: unknown[], out: RawIssue[]): void {
  const names = peers.flatMap((p) => (isObj(p) && typeof p.name === "string" ? [p.name] : []));
  const known = new Set(names);
  const graph = new Map<string, string[]>();
  peers.forEach((p, i) => {
    if (!isObj(p) || typeof p.name !== "string" || !Array.isArray(p.depends_on)) return;
    const deps: string[] = [];
    p.depends_on.forEach((d: unknown, j) => {
      if (typeof d !== "string") return; // the schema reports it
      const path = ["peers", i, "depends_on", j];
      if (d === p.name) {
        out.push({ path, message: `peer "${d}" cannot depend on itself` });
      } else if (!known.has(d)) {
        const near = closestKey(d, names);
        out.push({
          path,
          message: `"${d}" is not a peer of this file`,
          hint: near ? `did you mean "${near}"?` : `list one of: ${names.join(", ")}`,
        });
      } else deps.push(d);
    });
    graph.set(p.name, deps);
  });
  const cycle = dependencyCycle(graph);
  if (cycle) {
    const first = cycle[0] as string;
    const i = peers.findIndex((p) => isObj(p) && p.name === first);
    out.push({
      path: ["peers", i, "depends_on"],
      message: `depends_on has a cycle: ${cycle.join(" → ")}; a peer cannot depend on itself through others`,
      hint: "remove one of these dependencies",
    });
  }
}
