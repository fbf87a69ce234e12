// Runs the CLI in-process through runCli(argv, io), as src/cli/main.ts does, capturing
// its output: no child process, no TypeScript loader per call. spawnCli() runs the real
// executable in a child process, for the few smoke tests that need a process (signals,
// exit codes, the daemon's lifetime).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/cli.js";
import { FILE_LEDGER_DIR } from "../helpers/ledger-dir.js";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The test's environment without WDMESH_* (a developer's settings never leak in), plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WDMESH_")) base[k] = v;
  return { ...base, WDMESH_LEDGER_DIR: FILE_LEDGER_DIR, ...env };
}

/** Starts `wdmesh ARGS` in-process; stop() is the user's Ctrl-C. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): { stop: () => void; result: Promise<CliRun>; stdout: () => string } {
  const ctl = new AbortController();
  let stdout = "";
  let stderr = "";
  const result = runCli(args, {
    out: (s) => void (stdout += s),
    err: (s) => void (stderr += s),
    env: cliEnv(env),
    signal: ctl.signal,
    isTTY: false,
  }).then((code) => ({ code, stdout, stderr }));
  return { stop: () => ctl.abort(new Error("stopped by the test")), result, stdout: () => stdout };
}

/** Runs `wdmesh ARGS` in-process to the end. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).result;
}

/** Starts the real `wdmesh` executable (src/cli/main.ts through tsx) in a child process. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; result: Promise<CliRun>; stdout: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const result = new Promise<CliRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, result, stdout: () => stdout };
}
