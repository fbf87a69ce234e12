// CommandExecutor: restart / isolate / release by running an operator's program.
// argv only (never a shell), a deadline on every run (default 30 s, killed at the
// deadline), and the outcome recorded: exit code, first stderr line (truncated).
// The program gets WDMESH_PEER, WDMESH_EFFECT_ID (stable idempotency id) and
// WDMESH_ATTEMPT in its environment (and WDMESH_FENCING_TOKEN for a step taken in etcd).
import type { ActionResult } from "../core/types.js";
import type { CommandSpec, IsolateSpec, RestartSpec } from "../core/options.js";
import { parseDuration } from "../core/duration.js";
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "./executor.js";
import { firstLine, runProcess, type ProcessOutcome, type ProcessRunner } from "./run-process.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";

/** Default deadline of one command, ms. */
export const DEFAULT_COMMAND_TIMEOUT_MS = ACTION_DEFAULTS.commandTimeoutMs;

export interface CommandExecutorOptions {
  /** Deadline of a command without its own `timeout`, ms. Default 30 000. */
  timeoutMs?: number;
  /** Runs the program; injectable for tests. Default: child_process.spawn. */
  run?: ProcessRunner;
}

function describe(argv: readonly string[]): string {
  const s = argv.join(" ");
  return s.length > 120 ? s.slice(0, 119) + "…" : s;
}

/** Turns a process outcome into an ActionResult (ok = exit 0). */
export function commandResult(argv: readonly string[], out: ProcessOutcome, timeoutMs: number): ActionResult {
  const what = describe(argv);
  const base = { duration_ms: out.durationMs };
  if (out.spawnError) {
    const hint =
      out.spawnError.code === "ENOENT"
        ? "the program does not exist; use an absolute path to an installed program"
        : out.spawnError.code === "EACCES"
          ? "the program is not executable by the watchdog's user"
          : out.spawnError.message;
    return { ok: false, error: `cannot run ${what}: ${out.spawnError.code} (${hint})`, ...base };
  }
  if (out.timedOut) {
    return { ok: false, error: `${what} did not finish within ${timeoutMs} ms and was killed`, ...base };
  }
  if (out.aborted) return { ok: false, error: `${what} was interrupted (watchdog stopping)`, ...base };
  if (out.code === 0) return { ok: true, detail: `ran ${what} (exit 0)`, ...base };
  const why = firstLine(out.stderr);
  const how =
    out.code === null ? `was killed by ${out.signal ?? "a signal"}` : `exited with code ${out.code}`;
  return { ok: false, error: `${what} ${how}${why ? `: ${why}` : ""}`, ...base };
}

export class CommandExecutor implements Executor {
  private readonly timeoutMs: number;
  private readonly run: ProcessRunner;

  constructor(opts: CommandExecutorOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.run = opts.run ?? runProcess;
  }

  /** Runs one command spec for `target`; never throws. */
  async runSpec(spec: CommandSpec, target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
    let timeoutMs = this.timeoutMs;
    try {
      if (spec.timeout !== undefined) timeoutMs = parseDuration(spec.timeout, "command.timeout");
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (!Array.isArray(spec.argv) || spec.argv.length === 0 || typeof spec.argv[0] !== "string") {
      return { ok: false, error: "command.argv is empty: give the program and its arguments as a list" };
    }
    const out = await this.run(spec.argv, {
      timeoutMs,
      signal,
      env: {
        ...process.env,
        WDMESH_PEER: target.peer,
        WDMESH_EFFECT_ID: target.effectId,
        WDMESH_ATTEMPT: String(target.attempt),
        ...(target.fencingToken === undefined ? {} : { WDMESH_FENCING_TOKEN: target.fencingToken }),
      },
    });
    return commandResult(spec.argv, out, timeoutMs);
  }

  async restart(spec: RestartSpec, target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
    if (!("command" in spec)) return { ok: false, error: "CommandExecutor got a non-command restart spec" };
    return this.runSpec(spec.command, target, signal);
  }

  async isolate(spec: IsolateSpec, target: RemediationTarget, signal: AbortSignal): Promise<IsolateOutcome> {
    if (!("command" in spec)) {
      return {
        result: { ok: false, error: "CommandExecutor got a non-command isolate spec" },
        record: none(),
      };
    }
    const result = await this.runSpec(spec.command, target, signal);
    return {
      result,
      record: result.ok
        ? {
            method: "command",
            applied: [describe(spec.command.argv)],
            // What undoes it, as configured now: a release after a reload still runs this.
            ...(spec.release ? { release: spec.release } : {}),
          }
        : none(),
    };
  }

  async release(
    spec: IsolateSpec,
    record: IsolationRecord | null,
    target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult> {
    if (!("command" in spec)) return { ok: false, error: "CommandExecutor got a non-command isolate spec" };
    if (!spec.release) {
      if (record && record.applied.length > 0) {
        return {
          ok: false,
          error: `no isolate.release command configured, so "${record.applied.join(", ")}" was not undone; add isolate.release or undo it by hand`,
        };
      }
      return { ok: true, detail: "no release command configured and nothing was applied; nothing to undo" };
    }
    return this.runSpec(spec.release, target, signal);
  }
}

function none(): IsolationRecord {
  return { method: "none", applied: [] };
}
