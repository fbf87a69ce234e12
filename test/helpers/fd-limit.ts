// A real EMFILE, for tests of "this node's own trouble": a fixture runs in a child process
// under a low RLIMIT_NOFILE (prlimit), takes every descriptor it has left (takeAllDescriptors)
// and prints one JSON line of what the code under test said. Outside CI, a machine where
// prlimit may not lower the limit skips the test, saying why; in CI that fails.
// A descriptor another part of the process still holds (tsx writing its compile cache, on a
// fresh machine) and closes a moment later would hand the code under test a free slot: the
// fixture runs with tsx's disk cache off, and takeAllDescriptors keeps taking until nothing
// has come free for a while.
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** Descriptors a fixture runs with: few enough to take them all at once. */
const NOFILE = 256;

/**
 * Runs `fixture` (a path from the repository root) with `args` under RLIMIT_NOFILE 256 and
 * returns its JSON line; undefined when the test was skipped (prlimit not permitted here).
 */
export async function runUnderFdLimit<T>(
  t: TestContext,
  fixture: string,
  args: string[],
): Promise<T | undefined> {
  const child = spawn(
    "prlimit",
    [`--nofile=${NOFILE}:${NOFILE}`, process.execPath, "--import", "tsx", fixture, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TSX_DISABLE_CACHE: "1" } },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once("close", r));
  if (code !== 0 && /prlimit: .*(not permitted|failed)/.test(err) && process.env.CI === undefined) {
    t.skip(`prlimit unavailable here: ${err.trim()}`);
    return undefined;
  }
  assert.equal(code, 0, err);
  return JSON.parse(out) as T;
}

/** Quiet time after which no descriptor is expected to come free. */
const SETTLE_MS = 300;

/**
 * Takes every descriptor the process has left, and keeps taking any that come free until
 * none has for SETTLE_MS; give them back with `release()`.
 */
export async function takeAllDescriptors(): Promise<{ count: number; release: () => void }> {
  const held: number[] = [];
  const takeFree = (): number => {
    const before = held.length;
    for (let i = 0; i < 100_000; i++) {
      try {
        held.push(openSync("/dev/null", "r"));
      } catch {
        break; // EMFILE: every descriptor is taken
      }
    }
    return held.length - before;
  };
  takeFree();
  for (let quietSince = Date.now(); Date.now() - quietSince < SETTLE_MS;) {
    await new Promise((r) => setTimeout(r, 50));
    if (takeFree() > 0) quietSince = Date.now();
  }
  return { count: held.length, release: () => held.splice(0).forEach((fd) => closeSync(fd)) };
}
