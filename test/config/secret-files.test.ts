// ${file:} opens regular files only, without blocking, and reads at most 1 MiB + 1 byte:
// /dev/zero, a FIFO, a directory or a huge file is a config error naming the path,
// reported at once (the old reader spun on /dev/zero until the process died, and a
// FIFO blocked startup forever). Each case runs the real CLI, bounded by a kill timer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli } from "../cli/harness.js";
import { tempDir } from "../helpers/tmp-dir.js";

/** Longest a rejected ${file:} may take before the CLI is killed (a hang fails the test). */
const KILL_AFTER_MS = 20_000;

async function validateWithKey(
  dir: string,
  keyPath: string,
): Promise<{ code: number | null; stderr: string }> {
  const cfg = join(dir, "mesh.yaml");
  writeFileSync(cfg, `node: { name: n1 }\nmesh: { key: "\${file:${keyPath}}" }\n`);
  const run = spawnCli(["validate", "--config", cfg]);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), KILL_AFTER_MS);
  try {
    return await run.result;
  } finally {
    clearTimeout(timer);
  }
}

void test("${file:} refuses /dev/zero, a FIFO, a directory and a file over 1 MiB, naming the path (exit 2)", async (t) => {
  const dir = tempDir(t, "wdm-secret-file-");
  const fifo = join(dir, "key.fifo");
  execFileSync("mkfifo", [fifo]);
  const sub = join(dir, "keys.d");
  mkdirSync(sub);
  const big = join(dir, "big.key");
  writeFileSync(big, "");
  truncateSync(big, 4 << 20);
  const cases: Array<[string, RegExp]> = [
    ["/dev/zero", /is a character device; \$\{file:\} reads regular files only/],
    [fifo, /is a FIFO \(named pipe\); \$\{file:\} reads regular files only/],
    [sub, /is a directory/],
    [big, /is larger than 1 MiB/],
  ];
  for (const [path, why] of cases) {
    const r = await validateWithKey(dir, path);
    assert.equal(
      r.code,
      2,
      `${path}: exit ${String(r.code)} (null = killed after ${KILL_AFTER_MS} ms)\n${r.stderr}`,
    );
    assert.match(r.stderr, /mesh\.key: secret file /);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, why);
  }
});

void test("${file:} still reads a regular file of exactly 1 MiB", async (t) => {
  const { parseConfig } = await import("../../src/config/load.js");
  const dir = tempDir(t, "wdm-secret-file-");
  const key = join(dir, "exact.key");
  writeFileSync(key, "k".repeat(1 << 20));
  const rc = parseConfig(`node: { name: n1 }\nmesh: { key: "\${file:${key}}" }\n`, {});
  assert.equal(rc.mesh?.key?.length, 1 << 20);
});
