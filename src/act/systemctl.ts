// A small systemctl client: runs `systemctl ARGS` through an injectable command prefix
// with a deadline, and turns every failure into an operator-readable error.
//
// The prefix (option `systemctl`, default ["systemctl"]) selects which systemd is
// managed, e.g. ["systemctl", "--host", "admin@db1"] (over SSH),
// ["systemctl", "--machine", "web"] (a local container), or
// ["nsenter", "-t", PID, "-m", "-p", "systemctl"] (a systemd in a PID namespace, as
// the integration tests do). Network-isolation verification needs the unit's cgroup on
// this machine; with a remote prefix it cannot verify and falls back to stop (see
// systemd.ts).
import { firstLine, runProcess, type ProcessOutcome, type ProcessRunner } from "./run-process.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";

/** Default deadline of one systemctl call, ms. */
export const DEFAULT_SYSTEMCTL_TIMEOUT_MS = ACTION_DEFAULTS.systemctlTimeoutMs;

export interface SystemctlOptions {
  /** argv prefix that runs systemctl. Default ["systemctl"]. */
  command?: readonly string[];
  /** Runs the program; injectable for tests (a fake systemctl). Default: spawn. */
  run?: ProcessRunner;
}

export interface CallResult {
  ok: boolean;
  /** Operator-readable reason when !ok. */
  error?: string;
  /** The failure looks like "unit not found". */
  notFound?: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class Systemctl {
  readonly command: readonly string[];
  private readonly run: ProcessRunner;

  constructor(opts: SystemctlOptions = {}) {
    this.command = opts.command && opts.command.length > 0 ? [...opts.command] : ["systemctl"];
    this.run = opts.run ?? runProcess;
  }

  /** `systemctl ARGS`; never throws. */
  async call(args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CallResult> {
    const out = await this.run([...this.command, ...args], {
      timeoutMs,
      ...(signal ? { signal } : {}),
      // Plain, stable output: no pager, no colours, no interactive polkit prompt.
      env: { ...process.env, SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0", LC_ALL: "C" },
    });
    return interpret(this.command, args, out, timeoutMs);
  }

  /**
   * `systemctl show UNIT -p A -p B ...` parsed into a map. A unit that does not exist is
   * not an error here (LoadState=not-found); callers check LoadState.
   */
  async show(
    unit: string,
    props: readonly string[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; values: Record<string, string>; error?: string }> {
    const r = await this.call(["show", unit, ...props.flatMap((p) => ["-p", p])], timeoutMs, signal);
    if (!r.ok) return { ok: false, values: {}, error: r.error ?? "systemctl show failed" };
    const values: Record<string, string> = {};
    for (const line of r.stdout.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) values[line.slice(0, i)] = line.slice(i + 1);
    }
    return { ok: true, values };
  }
}

function interpret(
  prefix: readonly string[],
  args: readonly string[],
  out: ProcessOutcome,
  timeoutMs: number,
): CallResult {
  const base = { stdout: out.stdout, stderr: out.stderr, durationMs: out.durationMs };
  const what = `systemctl ${args.join(" ")}`;
  if (out.spawnError) {
    const prog = prefix[0] ?? "systemctl";
    const error =
      out.spawnError.code === "ENOENT"
        ? `cannot run ${what}: ${prog} not found (is systemd installed? set the systemctl command prefix if it lives elsewhere)`
        : `cannot run ${what}: ${out.spawnError.code} ${out.spawnError.message}`;
    return { ok: false, error, ...base };
  }
  if (out.timedOut) {
    return {
      ok: false,
      error: `${what} did not finish within ${timeoutMs} ms and was killed; its job may still be queued in systemd (see systemctl list-jobs)`,
      ...base,
    };
  }
  if (out.aborted) return { ok: false, error: `${what} was interrupted (watchdog stopping)`, ...base };
  if (out.code === 0) return { ok: true, ...base };
  const msg = firstLine(out.stderr) || firstLine(out.stdout);
  const low = out.stderr.toLowerCase();
  if (/not found|not loaded|no such unit|does not exist/.test(low) || out.code === 5) {
    return {
      ok: false,
      notFound: true,
      error: `${what} failed: unit not found (${msg || `exit ${out.code}`}); check the unit name (systemctl list-units --all)`,
      ...base,
    };
  }
  if (
    /access denied|interactive authentication required|permission denied|not permitted/.test(low) ||
    out.code === 4
  ) {
    return {
      ok: false,
      error: `${what} failed: no permission (${msg || `exit ${out.code}`}); run the watchdog as root or allow it through polkit`,
      ...base,
    };
  }
  if (
    /failed to connect to bus|not been booted with systemd|connection refused|transport endpoint|no such file or directory/.test(
      low,
    )
  ) {
    return {
      ok: false,
      error: `${what} failed: cannot reach systemd (${msg || `exit ${out.code}`}); is systemd running and its D-Bus socket reachable?`,
      ...base,
    };
  }
  const how = out.code === null ? `killed by ${out.signal ?? "a signal"}` : `exit ${out.code}`;
  return { ok: false, error: `${what} failed (${how})${msg ? `: ${msg}` : ""}`, ...base };
}
