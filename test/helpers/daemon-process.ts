// `wdmesh run` (the built CLI) as a real child process, for integration tests that stop,
// kill or freeze the daemon. Every child started here (or handed to track()) is killed
// when the test file ends, pass or fail, so nothing hangs the run.
import { after } from "node:test";
import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "./built-cli.js";
import "./ledger-dir.js";

const running = new Set<ChildProcess>();
after(() => killAll());

export interface DaemonOptions {
  /** A command the daemon runs under, e.g. ["prlimit", "--nofile=100:100"]. */
  wrap?: string[];
  /** Keep only the last this many characters of output (long runs); default: all of it. */
  keepChars?: number;
}

export interface Daemon {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output: () => string;
}

/** Kills `child` with the others when the test file ends (or on killAll()). */
export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** Starts `wdmesh run --config CONFIG`. */
export function spawnDaemon(config: string, opts: DaemonOptions = {}): Daemon {
  return spawnTracked([process.execPath, CLI, "run", "--config", config], opts);
}

/** Starts the command line `argv` (e.g. a node of a mesh test), tracked and recorded like a daemon. */
export function spawnTracked(argv: readonly string[], opts: DaemonOptions = {}): Daemon {
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
  const child = track(spawn(cmd as string, args, { stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  const keep = opts.keepChars;
  const add = (d: Buffer): void => {
    out += d.toString();
    if (keep !== undefined) out = out.slice(-keep);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return { child, output: () => out };
}

/** Sends `signal` and resolves with the exit code once the child exited (at once if it already had). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  child.kill(signal);
  return exited;
}

/** Kills every tracked child now (a frozen one is continued first so that it dies). */
export function killAll(): void {
  for (const c of running) {
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
}
