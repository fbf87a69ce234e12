// SystemdExecutor: the ladder's effects through systemctl.
//   restart  systemctl restart UNIT (waits for the job), then reads MainPID back; notices
//            when systemd's own Restart= already restarted the unit since we last looked.
//   isolate  one file per mode: systemd-network.ts (IPAddressDeny=any, read back, proven
//            by a canary, else falls back to stop), systemd-stop.ts (mask --runtime +
//            stop), systemd-freeze.ts (systemctl freeze, cgroup v2 freezer only).
//            What took is recorded as a structured SystemdIsolation (core/isolation.ts).
//   release  undo exactly what the record says was applied, then start UNIT.
// Every systemctl call has a deadline (spec `timeout`, default 30 s). Nothing here
// throws: every failure is an ActionResult with ok=false and an error that says what
// to do.
import type { ActionResult } from "../core/types.js";
import type { IsolateMode, IsolateSpec, RestartSpec } from "../core/options.js";
import { parseDuration, type Duration } from "../core/duration.js";
import { readIsolationRecord, type IsolationRecord, type SystemdIsolation } from "../core/isolation.js";
import { unitProblem } from "../core/rules.js";
import type { Executor, IsolateOutcome, RemediationTarget } from "./executor.js";
import { DEFAULT_SYSTEMCTL_TIMEOUT_MS, Systemctl, type CallResult } from "./systemctl.js";
import type { ProcessRunner } from "./run-process.js";
import type { UnitCall } from "./systemd-call.js";
import { freeze } from "./systemd-freeze.js";
import { CLEAR_ALLOW, DENY_ANY, isolateNetwork, networkUndo } from "./systemd-network.js";
import { stopAndMask } from "./systemd-stop.js";
import { verifyNetworkCut, type CanaryOptions, type CanaryVerdict } from "./verify-isolation.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";

export interface SystemdExecutorOptions {
  /** argv prefix that runs systemctl (see systemctl.ts). Default ["systemctl"]. */
  systemctl?: readonly string[];
  /** Deadline of each systemctl call when the spec has no `timeout`, ms. Default 30 000. */
  timeoutMs?: number;
  /** Runs systemctl; inject a fake in tests. Default: spawn. */
  run?: ProcessRunner;
  /** Proves a network cut; default: the cgroup canary of verify-isolation.ts. */
  verifyNetworkCut?: (opts: CanaryOptions) => Promise<CanaryVerdict>;
}

interface Seen {
  mainPid: number;
  nRestarts: number;
}

const ACTIVE_OK = new Set(["active", "activating", "reloading"]);

export class SystemdExecutor implements Executor {
  readonly systemctl: Systemctl;
  private readonly timeoutMs: number;
  private readonly verify: (opts: CanaryOptions) => Promise<CanaryVerdict>;
  /** MainPID / NRestarts per unit as last seen, to notice systemd's own restarts. */
  private readonly seen = new Map<string, Seen>();

  constructor(opts: SystemdExecutorOptions = {}) {
    this.systemctl = new Systemctl({
      ...(opts.systemctl ? { command: opts.systemctl } : {}),
      ...(opts.run ? { run: opts.run } : {}),
    });
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_SYSTEMCTL_TIMEOUT_MS;
    this.verify = opts.verifyNetworkCut ?? verifyNetworkCut;
  }

  private deadline(t: Duration | undefined): number | string {
    if (t === undefined) return this.timeoutMs;
    try {
      return parseDuration(t, "systemd.timeout");
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  async restart(spec: RestartSpec, _target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
    const started = Date.now();
    const done = (r: ActionResult): ActionResult => ({ ...r, duration_ms: Date.now() - started });
    if (!("systemd" in spec))
      return done({ ok: false, error: "SystemdExecutor got a non-systemd restart spec" });
    const unit = spec.systemd.unit;
    const bad = checkUnit(unit);
    if (bad) return done({ ok: false, error: bad });
    const t = this.deadline(spec.systemd.timeout);
    if (typeof t === "string") return done({ ok: false, error: t });

    const before = await this.state(unit, t, signal);
    if (!before.ok) return done({ ok: false, error: before.error });
    const notes: string[] = [];
    const last = this.seen.get(unit);
    if (
      last &&
      (before.nRestarts > last.nRestarts || (before.mainPid !== last.mainPid && before.mainPid > 0))
    ) {
      notes.push(
        `systemd had already restarted ${unit} on its own since last seen (Restart=): ` +
          `NRestarts ${last.nRestarts} → ${before.nRestarts}, MainPID ${last.mainPid} → ${before.mainPid}`,
      );
    } else if (!last && before.nRestarts > 0) {
      notes.push(`systemd has restarted ${unit} ${before.nRestarts} time(s) on its own (Restart=)`);
    }

    const r = await this.systemctl.call(["restart", unit], t, signal);
    if (!r.ok)
      return done({ ok: false, error: r.error, ...(notes.length ? { detail: notes.join("; ") } : {}) });
    const after = await this.state(unit, t, signal);
    if (!after.ok) {
      return done({ ok: false, error: `restarted ${unit}, but reading it back failed: ${after.error}` });
    }
    this.seen.set(unit, { mainPid: after.mainPid, nRestarts: after.nRestarts });
    const line =
      `systemctl restart ${unit}: ${after.activeState}/${after.subState}, ` +
      `MainPID ${before.mainPid || "none"} → ${after.mainPid || "none"}`;
    const detail = [line, ...notes].join("; ");
    const main = after.mainPid > 0 ? { main_pid: after.mainPid } : {};
    if (!ACTIVE_OK.has(after.activeState)) {
      return done({
        ok: false,
        error: `restarted ${unit}, but it is ${after.activeState} (${after.subState}); see journalctl -u ${unit}`,
        detail,
        ...main,
      });
    }
    return done({ ok: true, detail, ...main });
  }

  async isolate(spec: IsolateSpec, _target: RemediationTarget, signal: AbortSignal): Promise<IsolateOutcome> {
    const started = Date.now();
    const none = (unit?: string): IsolationRecord => ({
      method: "none",
      ...(unit ? { unit } : {}),
      applied: [],
    });
    const out = (result: ActionResult, record: IsolationRecord): IsolateOutcome => ({
      result: { ...result, duration_ms: Date.now() - started },
      record,
    });
    if (!("systemd" in spec))
      return out({ ok: false, error: "SystemdExecutor got a non-systemd isolate spec" }, none());
    const unit = spec.systemd.unit;
    const bad = checkUnit(unit);
    if (bad) return out({ ok: false, error: bad }, none());
    const t = this.deadline(spec.systemd.timeout);
    if (typeof t === "string") return out({ ok: false, error: t }, none(unit));
    const mode: IsolateMode = spec.systemd.mode ?? ACTION_DEFAULTS.isolateMode;

    const st = await this.systemctl.show(
      unit,
      ["LoadState", "ActiveState", "ControlGroup", "IPAddressDeny", "IPAddressAllow", "MainPID"],
      t,
      signal,
    );
    if (!st.ok) return out({ ok: false, error: st.error }, none(unit));
    if (st.values.LoadState === "not-found") {
      return out({ ok: false, error: notFound(unit) }, none(unit));
    }

    const c: UnitCall = { systemctl: this.systemctl, unit, t, signal };
    const done: SystemdIsolation = { mode, masked: false, stopped: false, frozen: false };
    const result =
      mode === "stop"
        ? await stopAndMask(c, done)
        : mode === "freeze"
          ? await freeze(c, done)
          : await isolateNetwork(
              c,
              { deny: st.values.IPAddressDeny ?? "", allow: st.values.IPAddressAllow ?? "" },
              this.verify,
              done,
            );
    if (!result.ok && mode === "freeze") return out(result, none(unit));
    return out(result, { method: "systemd", unit, applied: appliedSteps(done), systemd: done });
  }

  async release(
    spec: IsolateSpec,
    record: IsolationRecord | null,
    _target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult> {
    const started = Date.now();
    const done = (r: ActionResult): ActionResult => ({ ...r, duration_ms: Date.now() - started });
    if (!("systemd" in spec))
      return done({ ok: false, error: "SystemdExecutor got a non-systemd isolate spec" });
    const unit = record?.unit ?? spec.systemd.unit;
    const bad = checkUnit(unit);
    if (bad) return done({ ok: false, error: bad });
    const t = this.deadline(spec.systemd.timeout);
    if (typeof t === "string") return done({ ok: false, error: t });

    const notes: string[] = [];
    let undo: SystemdIsolation;
    // A record stored by an older version keeps its steps as strings: read it tolerantly.
    const stored = readIsolationRecord(record);
    if (stored?.systemd) {
      undo = stored.systemd;
    } else {
      // The record was lost (or is not a systemd one): undo what this mode applies, best effort.
      const mode = spec.systemd.mode ?? ACTION_DEFAULTS.isolateMode;
      undo = assumedByMode(mode);
      notes.push(`no isolation record; undid what mode ${mode} applies`);
    }
    const errors: string[] = [];

    // Undo in reverse order of application.
    if (undo.masked) await this.step(["unmask", "--runtime", unit], t, signal, notes, errors);
    if (undo.frozen) await this.step(["thaw", unit], t, signal, notes, errors);
    if (undo.network)
      await this.step(
        ["set-property", "--runtime", unit, ...networkUndo(undo.network)],
        t,
        signal,
        notes,
        errors,
      );
    await this.step(["start", unit], t, signal, notes, errors);

    const after = await this.state(unit, t, signal);
    const main = after.ok && after.mainPid > 0 ? { main_pid: after.mainPid } : {};
    if (after.ok) this.seen.set(unit, { mainPid: after.mainPid, nRestarts: after.nRestarts });
    const detail = notes.join("; ") + (after.ok ? `; ${unit} is ${after.activeState}` : "");
    if (errors.length > 0) return done({ ok: false, error: errors.join("; "), detail, ...main });
    return done({ ok: true, detail, ...main });
  }

  private async step(
    args: string[],
    t: number,
    signal: AbortSignal,
    notes: string[],
    errors: string[],
  ): Promise<CallResult> {
    const r = await this.systemctl.call(args, t, signal);
    if (r.ok) notes.push(`systemctl ${args.join(" ")}`);
    else errors.push(r.error ?? `systemctl ${args.join(" ")} failed`);
    return r;
  }

  private async state(
    unit: string,
    t: number,
    signal: AbortSignal,
  ): Promise<
    | { ok: true; mainPid: number; nRestarts: number; activeState: string; subState: string }
    | { ok: false; error: string }
  > {
    const s = await this.systemctl.show(
      unit,
      ["LoadState", "ActiveState", "SubState", "MainPID", "NRestarts"],
      t,
      signal,
    );
    if (!s.ok) return { ok: false, error: s.error ?? `systemctl show ${unit} failed` };
    if (s.values.LoadState === "not-found") return { ok: false, error: notFound(unit) };
    return {
      ok: true,
      mainPid: Number(s.values.MainPID ?? 0) || 0,
      nRestarts: Number(s.values.NRestarts ?? 0) || 0,
      activeState: s.values.ActiveState ?? "unknown",
      subState: s.values.SubState ?? "unknown",
    };
  }
}

function notFound(unit: string): string {
  return `unit ${unit} not found (LoadState=not-found); check the unit name in the peer's config (systemctl list-units --all)`;
}

/** A unit name must be one systemd unit name (so never an option systemctl could misread). */
function checkUnit(unit: unknown): string | undefined {
  if (typeof unit !== "string" || unit.trim() === "")
    return "systemd.unit is empty: name the unit, e.g. sidecar.service";
  const problem = unitProblem(unit);
  return problem ? `systemd.unit "${unit}" ${problem}` : undefined;
}

/** The steps of a systemd isolation as shown to people, in the order they were applied. */
function appliedSteps(d: SystemdIsolation): string[] {
  return [
    ...(d.network ? (d.network.previousAllow ? [CLEAR_ALLOW, DENY_ANY] : [DENY_ANY]) : []),
    ...(d.masked ? ["mask"] : []),
    ...(d.stopped ? ["stop"] : []),
    ...(d.frozen ? ["freeze"] : []),
  ];
}

/** What a mode may have applied, for a release without a record. */
function assumedByMode(mode: IsolateMode): SystemdIsolation {
  if (mode === "freeze") return { mode, masked: false, stopped: false, frozen: true };
  return {
    mode,
    ...(mode === "network" ? { network: { previousDeny: "", previousAllow: "" } } : {}),
    masked: true,
    stopped: true,
    frozen: false,
  };
}
