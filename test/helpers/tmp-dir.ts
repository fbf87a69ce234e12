// The tests' one way to get a temporary directory: a fresh one, removed with everything
// in it when its test (or its file or describe block) ends, pass or fail. Nothing else
// in test/ calls mkdtemp or removes directories by hand.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDirOptions {
  /** Where to create it; default the OS's temporary directory. */
  parent?: string;
}

/** Anything with node:test's `after(fn)`: a test's context (`t`). */
export interface Owner {
  after(fn: () => void): void;
}

/** A fresh directory named `prefix` + random, removed when `t` ends. */
export function tempDir(t: Owner, prefix: string, opts: TempDirOptions = {}): string {
  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), prefix));
  t.after(() => removeTree(dir));
  return dir;
}

/**
 * For a whole test file or describe block (or its before hook): a fresh directory,
 * removed when the file's test process exits, so after every after hook of the file
 * (daemons and stores they stop are gone by then).
 */
export function fileTempDir(prefix: string, opts: TempDirOptions = {}): string {
  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), prefix));
  process.once("exit", () => removeTree(dir));
  return dir;
}

/** Removes `dir` even when a test left it without write permission for its owner. */
function removeTree(dir: string): void {
  try {
    chmodSync(dir, 0o700);
  } catch {
    // gone already
  }
  rmSync(dir, { recursive: true, force: true });
}
