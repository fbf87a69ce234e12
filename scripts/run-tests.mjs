#!/usr/bin/env node
// Runs the whole test suite with node's test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit + integration tests
//   node scripts/run-tests.mjs --unit     unit tests only (no root, no systemd, no browsers)
//   node scripts/run-tests.mjs FILE...    only these files
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
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
if (unitOnly) files = files.filter((f) => !f.includes("integration"));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
// Integration tests share machine-wide resources (a systemd namespace, ports), so
// the runner keeps concurrency low; each file still isolates its own resources.
const res = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...files],
  { stdio: "inherit" },
);
process.exit(res.status ?? 1);
