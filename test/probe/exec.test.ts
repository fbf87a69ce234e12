// Exec probe with real child processes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createProber } from "../../src/probe/index.js";
import type { Prober } from "../../src/probe/prober.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

let prober: Prober;
const dir = fileTempDir("wdm-exec-");
before(() => {
  prober = createProber();
});
after(async () => {
  await prober.close();
});

/** Probes with `sh -c script` as the check, within `deadlineMs`. */
const sh = (script: string, deadlineMs = 5_000) =>
  prober.probe({ exec: { argv: ["sh", "-c", script] } }, deadlineMs);

/** True while `pid` exists and is not a zombie (an orphan may wait for a reaper). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Resolves once `pid` is gone; fails the test if it is still running after 20 s. */
async function gone(pid: number, what: string): Promise<void> {
  await until(what, () => !running(pid));
}

void test("exec: exit 0 is alive", async () => {
  const r = await sh("exit 0");
  assert.equal(r.ok, true, r.error);
});

void test("exec: exit 1 reports the code and the first stderr line", async () => {
  const r = await sh("echo 'disk full' >&2; echo more >&2; exit 1");
  assert.equal(r.ok, false);
  assert.equal(r.error, "exit code 1: disk full");
});

void test("exec: a long stderr line is truncated to 200 characters", async () => {
  const r = await sh(`printf '%0500d\\n' 0 >&2; exit 3`);
  assert.equal(r.ok, false);
  assert.match(r.error ?? "", /^exit code 3: 0+…$/);
  assert.equal((r.error ?? "").length, "exit code 3: ".length + 200);
});

void test("exec: control characters never reach the error", async () => {
  const r = await sh("printf 'bad\\033[31m\\000 thing\\n' >&2; exit 1");
  assert.equal(r.error, "exit code 1: bad[31m thing");
});

void test("exec: no stderr falls back to stdout, then to the bare code", async () => {
  const out = await sh("echo not ready; exit 2");
  assert.equal(out.error, "exit code 2: not ready");
  const bare = await sh("exit 4");
  assert.equal(bare.error, "exit code 4");
});

void test("exec: huge output is drained (the child never blocks on a full pipe)", async () => {
  // 100 MB through pipes nobody read would block the child forever and end in a timeout.
  const r = await sh("head -c 50000000 /dev/zero; yes x | head -c 50000000 >&2; exit 5", 20_000);
  assert.equal(r.ok, false);
  assert.equal(r.error, "exit code 5: x");
});

void test("exec: the deadline kills the child and its descendants", async () => {
  const pidFile = join(dir, "pids");
  const t0 = performance.now();
  const r = await sh(`echo $$ > ${pidFile}; sleep 60 & echo $! >> ${pidFile}; wait`, 500);
  const took = performance.now() - t0;
  assert.equal(r.ok, false);
  assert.equal(r.error, "timeout after 500 ms (killed)");
  assert.ok(took < 500 + 2_000, `took ${took} ms`);
  const pids = (await readFile(pidFile, "utf8")).trim().split("\n").map(Number);
  assert.equal(pids.length, 2, "both the shell and its background sleep started");
  for (const pid of pids) await gone(pid, `pid ${pid} gone`);
});

void test("exec: helpers left behind by a successful check are killed too", async () => {
  const pidFile = join(dir, "leftover");
  const r = await sh(`sleep 60 >/dev/null 2>&1 & echo $! > ${pidFile}; exit 0`);
  assert.equal(r.ok, true, r.error);
  const pid = Number((await readFile(pidFile, "utf8")).trim());
  await gone(pid, `leftover pid ${pid} gone`);
});

void test("exec: a missing program is 'cannot run ...: not found'", async () => {
  const r = await prober.probe({ exec: { argv: ["/nonexistent/check-health"] } }, 2_000);
  assert.equal(r.ok, false);
  assert.equal(r.error, "cannot run /nonexistent/check-health: not found");
});

void test("exec: a non-executable file is 'permission denied'", async () => {
  const file = join(dir, "not-executable");
  await writeFile(file, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
  const r = await prober.probe({ exec: { argv: [file] } }, 2_000);
  assert.equal(r.error, `cannot run ${file}: permission denied`);
});

void test("exec: empty argv is a miss", async () => {
  const r = await prober.probe({ exec: { argv: [] } }, 2_000);
  assert.equal(r.error, "cannot run: argv is empty");
});

void test("exec: argv is not run through a shell", async () => {
  const marker = join(dir, "injected");
  const r = await prober.probe({ exec: { argv: ["echo", `x; touch ${marker}`] } }, 2_000);
  assert.equal(r.ok, true, r.error);
  await assert.rejects(readFile(marker), { code: "ENOENT" });
});
