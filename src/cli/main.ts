#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=65536 node --max-semi-space-size=1 --optimize-for-size
// Tuned for a long-running watchdog that allocates little per probe: 1 MB V8 young-
// generation semi-spaces (the default 16 MB cost ~20-30 MB of RSS for no measurable CPU
// saving), --optimize-for-size (~20 MB less RSS under API load; bench/daemon-load.ts), and
// glibc returning freed memory to the system past 64 KiB (~6 MB; bench/monitor-soak.mjs).
// The `wdmesh` executable: wires the process (argv, stdio, signals, exit code) to runCli.
import { runCli } from "./cli.js";

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  signals++;
  if (signals === 1) {
    controller.abort(new Error(`received ${sig}`));
    return;
  }
  // A second signal while stopping: give up waiting.
  process.stderr.write(`wdmesh: ${sig} again, exiting without waiting for a clean stop\n`);
  process.exit(1);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
// `wdmesh status | head` must not die of EPIPE with a stack trace. A long-running node
// (run, demo) keeps watching when whoever read its output is gone: its escalations are
// in the journal, and a watchdog that exits because its log reader left is worse.
const longRunning = ["run", "demo"].includes(process.argv[2] ?? "");
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE" && !longRunning) process.exit(0);
});

const code = await runCli(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
  signal: controller.signal,
  isTTY: process.stdout.isTTY === true,
  onHangup: (listener) => {
    process.on("SIGHUP", listener);
    return () => void process.off("SIGHUP", listener);
  },
});
process.off("SIGINT", onSignal);
process.off("SIGTERM", onSignal);
// Let stdout drain, then exit with the code (no handle may keep the CLI alive).
process.exitCode = code;
if (process.stdout.writableLength > 0) process.stdout.once("drain", () => process.exit(code));
else process.exit(code);
