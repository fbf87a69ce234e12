#!/usr/bin/env node
// npm run test:stress: builds, then runs the whole test suite (scripts/run-tests.mjs, with
// any arguments given) while two busy-loop processes per core compete for the CPU. The
// suite must pass like this: nothing in it may depend on how fast this machine is.
// The busy loops are bounded: they are killed when the run ends, they exit by themselves
// when this script dies (they check that it is still there), and none outlives MAX_BUSY_MS.
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

/** Busy-loop processes per core. */
const PER_CORE = 2;
/** Longest a busy loop lives, whatever happens, ms. */
const MAX_BUSY_MS = 60 * 60 * 1000;

const BUSY = `
const parent = ${process.pid};
const until = Date.now() + ${MAX_BUSY_MS};
const alive = () => {
  try {
    process.kill(parent, 0);
    return true;
  } catch {
    return false;
  }
};
for (;;) {
  for (let i = 0; i < 5e6; i++);
  if (!alive() || Date.now() > until) process.exit(0);
}
`;

const build = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const loops = [];
const n = PER_CORE * availableParallelism();
for (let i = 0; i < n; i++) loops.push(spawn(process.execPath, ["-e", BUSY], { stdio: "ignore" }));
const stopLoops = () => {
  for (const c of loops) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
};
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopLoops();
    process.exit(130);
  });
}

console.log(`test:stress: ${n} busy-loop processes beside the suite`);
const started = Date.now();
const tests = spawn(process.execPath, ["scripts/run-tests.mjs", ...process.argv.slice(2)], {
  stdio: "inherit",
});
const code = await new Promise((r) => tests.once("exit", (c) => r(c ?? 1)));
stopLoops();
console.log(
  `test:stress: suite ${code === 0 ? "passed" : `failed (exit ${code})`} in ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s with ${n} busy loops beside it`,
);
process.exit(code);
