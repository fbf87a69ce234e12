// Exec probe: runs argv (no shell); exit 0 = alive. The child runs in its own process
// group, and at the deadline the whole group is killed with SIGKILL, so a script that
// forked helpers leaves nothing behind. Captured output is capped.
import { spawn, type ChildProcess } from "node:child_process";
import type { ExecProbeSpec } from "../core/options.js";
import type { ProbeCause, ProbeResult } from "../core/types.js";
import { localCause, oneLine, timeoutError } from "./errors.js";

/** Bytes of stdout and of stderr kept for the error message; the rest is drained and dropped. */
export const EXEC_OUTPUT_CAP_BYTES = 4_096;
/** Longest first line of output quoted in an error, characters. */
const ERROR_LINE_MAX = 200;
/** After SIGKILL, how long to wait for the exit to be reaped before answering anyway, ms. */
const REAP_WAIT_MS = 2_000;

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Group already gone: kill the leader alone in case it left its group.
    try {
      child.kill("SIGKILL");
    } catch {
      /* already exited */
    }
  }
}

function spawnError(prog: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
      return `cannot run ${prog}: not found`;
    case "EACCES":
      return `cannot run ${prog}: permission denied`;
    case "ENOEXEC":
      return `cannot run ${prog}: not an executable format`;
    default:
      return `cannot run ${prog}: ${oneLine(err.message, 160)}`;
  }
}

function firstLine(buf: Buffer): string {
  for (const line of buf.toString("utf8").split(/\r?\n/)) {
    const t = line.trim();
    if (t) return oneLine(t, ERROR_LINE_MAX);
  }
  return "";
}

/** Runs the check command within `timeoutMs`. Never throws, never rejects. */
export function probeExec(
  spec: ExecProbeSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const start = performance.now();
  const took = (): number => Math.round((performance.now() - start) * 100) / 100;
  const argv = spec.argv;
  const prog = argv?.[0];
  if (!Array.isArray(argv) || typeof prog !== "string" || prog === "") {
    return Promise.resolve({ ok: false, duration_ms: 0, error: "cannot run: argv is empty" });
  }
  if (signal?.aborted) return Promise.resolve({ ok: false, duration_ms: 0, error: "aborted" });

  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let killedFor: string | null = null;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;

    // `cause` is set only by a failed spawn (this node's own syscall); the check's exit
    // code and output are the peer's verdict, whatever words they contain.
    const finish = (error?: string, cause?: ProbeCause): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(reapTimer);
      signal?.removeEventListener("abort", onAbort);
      resolve(
        error === undefined
          ? { ok: true, duration_ms: took() }
          : { ok: false, duration_ms: took(), error, ...(cause ? { cause } : {}) },
      );
    };

    let reapTimer: NodeJS.Timeout | undefined;
    const kill = (reason: string): void => {
      if (killedFor !== null || settled) return;
      killedFor = reason;
      killGroup(child);
      // Normally 'exit' follows within a millisecond; never hang on an unkillable child.
      reapTimer = setTimeout(() => finish(reason), REAP_WAIT_MS);
    };
    const onAbort = (): void => kill("aborted (killed)");

    let child: ChildProcess;
    try {
      child = spawn(prog, argv.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // own process group, so the deadline kills every descendant
        windowsHide: true,
      });
    } catch (e) {
      const cause = localCause(e);
      resolve({
        ok: false,
        duration_ms: took(),
        error: spawnError(prog, e as NodeJS.ErrnoException),
        ...(cause ? { cause } : {}),
      });
      return;
    }
    const timer = setTimeout(() => kill(`${timeoutError(timeoutMs)} (killed)`), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout?.on("data", (c: Buffer) => {
      if (outLen < EXEC_OUTPUT_CAP_BYTES) {
        const part = c.subarray(0, EXEC_OUTPUT_CAP_BYTES - outLen);
        out.push(part);
        outLen += part.length;
      }
    });
    child.stderr?.on("data", (c: Buffer) => {
      if (errLen < EXEC_OUTPUT_CAP_BYTES) {
        const part = c.subarray(0, EXEC_OUTPUT_CAP_BYTES - errLen);
        err.push(part);
        errLen += part.length;
      }
    });
    child.once("error", (e: NodeJS.ErrnoException) => {
      // spawn failure (ENOENT, EACCES): no process was started.
      if (child.pid === undefined) finish(spawnError(prog, e), localCause(e));
    });
    // The leader is done: kill helpers it left in its group, so they cannot hold the
    // pipes open (which would delay 'close') or linger after the probe.
    child.once("exit", () => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        /* group already empty: the usual case */
      }
    });
    // 'close' comes after 'exit' once the pipes are drained, so stderr is complete.
    child.once("close", (code: number | null, sig: NodeJS.Signals | null) => {
      if (killedFor !== null) {
        finish(killedFor);
        return;
      }
      if (code === 0) {
        finish();
        return;
      }
      const line = firstLine(Buffer.concat(err)) || firstLine(Buffer.concat(out));
      const what = code !== null ? `exit code ${code}` : `killed by signal ${sig}`;
      finish(line ? `${what}: ${line}` : what);
    });
  });
}
