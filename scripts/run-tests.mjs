#!/usr/bin/env node
// Runs the test suite with node's test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit + integration tests
//   node scripts/run-tests.mjs --unit     unit tests only (no root, no systemd, no browsers)
//   node scripts/run-tests.mjs FILE...    only these files
// Unit files (everything outside test/integration/) own no machine-wide resource (fake
// clocks, loopback port 0, temporary directories), so they run at full parallelism.
// Integration files boot systemds, browsers and daemons that each take a core or more,
// so fewer of them run at once; each still isolates its own resources (its own systemd
// and cgroup subtree, its own ports and directories).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const explicit = args.filter((a) => !a.startsWith("--"));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

let files = explicit.length > 0 ? explicit : walk("test");
if (unitOnly) files = files.filter((f) => !isIntegration(f));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}

function isIntegration(f) {
  return f.split(/[\\/]/).includes("integration");
}

const cores = availableParallelism();
/** Unit files at once: they mostly wait on loopback sockets, child processes and SQLite. */
const UNIT_CONCURRENCY = Math.max(6, cores * 3);
/**
 * Integration files at once. They mostly wait on probe intervals, restarts, leases and
 * takeovers (eight lanes kept about 1.5 cores busy on one quiet 2-core machine, and more
 * than two on a slower one of the same kind, where the tests' own daemons then starved:
 * five leave room), and each isolates its own systemd, ports, namespaces and directories;
 * `npm run test:stress` runs them like this beside two busy loops per core.
 */
const INTEGRATION_CONCURRENCY = 5;
/**
 * Files that take long, started first in their group so the lanes finish together instead
 * of one long file running alone at the end: integration files of half a minute or more,
 * and the CPU-bound unit files (the simulation's seeds, the crash loop). Longest first; any
 * file not named keeps its alphabetical place after these. Order only: nothing is skipped.
 */
const SLOW_FIRST = [
  "integration/mesh-partition",
  "integration/mesh-takeover",
  "integration/mesh-takeover-immediate",
  "integration/ledger-fence",
  "integration/embedded-mesh",
  "integration/sse-memory",
  "integration/containers-demo",
  "integration/jepsen-short",
  "integration/fleet-etcd",
  "integration/mesh-quorum",
  "integration/fleet-daemon",
  "integration/packed-install",
  "integration/api-flood",
  "integration/fleet-netns",
  "mesh/simulation-seeds-1",
  "mesh/simulation-seeds-2",
  "store/crash",
  "mesh/simulation",
  "mesh/takeover-mesh",
];

function slowFirst(list) {
  const rank = (f) => {
    const path = f.split(/[\\/]/).join("/");
    const i = SLOW_FIRST.findIndex((name) => path.endsWith(`${name}.test.ts`));
    return i < 0 ? SLOW_FIRST.length : i;
  };
  return list
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .map((x) => x.f);
}

const groups = [
  { name: "unit", files: slowFirst(files.filter((f) => !isIntegration(f))), concurrency: UNIT_CONCURRENCY },
  {
    name: "integration",
    files: slowFirst(files.filter(isIntegration)),
    concurrency: INTEGRATION_CONCURRENCY,
  },
].filter((g) => g.files.length > 0);

let status = 0;
for (const g of groups) {
  const started = Date.now();
  const res = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", `--test-concurrency=${g.concurrency}`, "--test-reporter=spec", ...g.files],
    { stdio: "inherit" },
  );
  const code = res.status ?? 1;
  console.log(
    `run-tests: ${g.name}: ${g.files.length} files, concurrency ${g.concurrency}, ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s, ${code === 0 ? "passed" : `failed (exit ${code})`}`,
  );
  if (code !== 0) status = code;
}
process.exit(status);
