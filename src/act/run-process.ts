// Runs one program (argv, never a shell) with a deadline, and reports what happened.
// Never throws and never rejects: a missing program, a timeout, an abort and a non-zero
// exit are all outcomes. The child is killed (SIGKILL) at the deadline or on abort.
import { spawn } from "node:child_process";
import { ACTION_DEFAULTS, MESSAGE_DEFAULTS } from "../core/defaults.js";

export interface ProcessOutcome {
  /** Exit code, or null when the process did not exit by itself (killed, not started). */
  code: number | null;
  /** Signal that ended the process, when one did. */
  signal: NodeJS.Signals | null;
  /** Standard output, truncated to `maxOutputBytes`. */
  stdout: string;
  /** Standard error, truncated to `maxOutputBytes`. */
  stderr: string;
  /** The deadline passed and the process was killed. */
  timedOut: boolean;
  /** The caller's AbortSignal fired and the process was killed. */
  aborted: boolean;
  /** The program could not be started (e.g. ENOENT, EACCES), with the errno code. */
  spawnError?: { code: string; message: string };
  /** Wall time, ms. */
  durationMs: number;
}

export interface RunOptions {
  /** Deadline, ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Data written to stdin, then stdin is closed. Default: stdin closed at once. */
  input?: string;
  /** Cap of captured stdout / stderr each, bytes. Default 64 KiB. */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** The function that runs a program; injectable so tests can fake systemctl. */
export type ProcessRunner = (argv: readonly string[], opts: RunOptions) => Promise<ProcessOutcome>;

export const runProcess: ProcessRunner = (argv, opts) =>
  new Promise<ProcessOutcome>((resolve) => {
    const started = Date.now();
    const max = opts.maxOutputBytes ?? ACTION_DEFAULTS.maxOutputBytes;
    const [file, ...args] = argv;
    const base = { stdout: "", stderr: "", timedOut: false, aborted: false, code: null, signal: null };
    if (file === undefined || file === "") {
      resolve({
        ...base,
        spawnError: { code: "EINVAL", message: "empty argv: no program to run" },
        durationMs: 0,
      });
      return;
    }
    if (opts.signal?.aborted) {
      resolve({ ...base, aborted: true, durationMs: 0 });
      return;
    }
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    let done = false;
    let spawnError: ProcessOutcome["spawnError"];
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      // Own process group, so a kill reaches grandchildren too (e.g. nsenter, then systemctl).
      detached: true,
    });
    const append = (cur: string, chunk: Buffer): string =>
      cur.length >= max ? cur : (cur + chunk.toString("utf8")).slice(0, max);
    child.stdout?.on("data", (c: Buffer) => (stdout = append(stdout, c)));
    child.stderr?.on("data", (c: Buffer) => (stderr = append(stderr, c)));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // the child may exit before reading; not our concern
      child.stdin.end(opts.input);
    }
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    };
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
      },
      Math.max(1, opts.timeoutMs),
    );
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        aborted,
        ...(spawnError ? { spawnError } : {}),
        durationMs: Date.now() - started,
      });
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError = { code: err.code ?? "ERROR", message: err.message };
      // 'close' may not follow an error from spawn; finish now.
      if (child.pid === undefined) finish(null, null);
    });
    child.on("close", (code, signal) => finish(code, signal));
    // A grandchild that escaped the group kill could hold the pipes open; do not wait on
    // it longer than a moment after the child itself has exited.
    child.on("exit", (code, signal) => {
      setTimeout(() => finish(code, signal), 500);
    });
  });

/** First non-empty line of `text`, trimmed and cut to `max` characters (with "…"). */
export function firstLine(text: string, max: number = MESSAGE_DEFAULTS.lineChars): string {
  const line =
    text
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}
