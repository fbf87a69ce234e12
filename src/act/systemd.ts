// SystemdExecutor: the ladder's effects through systemctl (SPEC §3–§4).
//   restart  systemctl restart UNIT (waits for the job), then reads MainPID back; notices
//            when systemd's own Restart= already restarted the unit since we last looked.
//   isolate  network: set-property --runtime IPAddressDeny=any (cgroup eBPF), read back,
//                     then proven with a canary (verify-isolation.ts); not enforced →
//                     fall back to mask --runtime + stop, and say so.
//            stop:    mask --runtime (nothing revives it) + stop.
//            freeze:  systemctl freeze (cgroup v2 freezer only; a clear error elsewhere).
//   release  undo exactly what the IsolationRecord says was applied, then start UNIT.
// Every systemctl call has a deadline (spec `timeout`, default 30 s). Nothing here
// throws: every failure is an ActionResult with ok=false and an error that says what
// to do.
import type { ActionResult } from "../core/types.js";
import type { IsolateMode, IsolateSpec, RestartSpec } from "../core/options.js";
import { parseDuration, type Duration } from "../core/duration.js";
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "./executor.js";
import { DEFAULT_SYSTEMCTL_TIMEOUT_MS, Systemctl, type CallResult } from "./systemctl.js";
import type { ProcessRunner } from "./run-process.js";
import { verifyNetworkCut, type CanaryOptions, type CanaryVerdict } from "./verify-isolation.js";

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

/** What isolate applied for mode network; release undoes these. */
const DENY_ANY = "IPAddressDeny=any";
const CLEAR_ALLOW = "IPAddressAllow=";
/** Records a value that was set before we changed it, e.g. "was:IPAddressDeny=10.0.0.0/8". */
const WAS = "was:";

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
    const mode: IsolateMode = spec.systemd.mode ?? "network";

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

    if (mode === "stop") {
      const applied: string[] = [];
      const r = await this.stopAndMask(unit, t, signal, applied);
      return out(r, { method: "systemd", unit, applied });
    }
    if (mode === "freeze") {
      const r = await this.systemctl.call(["freeze", unit], t, signal);
      if (!r.ok) {
        const unsupported = /does not support freezing|not supported/i.test(r.stderr);
        return out(
          {
            ok: false,
            error: unsupported
              ? `cannot freeze ${unit}: systemctl freeze is not supported on this host (it needs the cgroup v2 freezer; ` +
                `this host's cgroup layout lacks it). Use isolate mode "network" or "stop". (${r.error})`
              : (r.error ?? `systemctl freeze ${unit} failed`),
          },
          none(unit),
        );
      }
      return out(
        { ok: true, detail: `systemctl freeze ${unit}: its processes are frozen` },
        {
          method: "systemd",
          unit,
          applied: ["freeze"],
        },
      );
    }

    // mode network
    const applied: string[] = [];
    const assignments: string[] = [];
    const prevAllow = st.values.IPAddressAllow ?? "";
    const prevDeny = st.values.IPAddressDeny ?? "";
    if (prevAllow !== "") {
      // IPAddressAllow= wins over IPAddressDeny=; clear it so nothing stays reachable.
      assignments.push(CLEAR_ALLOW);
    }
    assignments.push(DENY_ANY);
    const set = await this.systemctl.call(["set-property", "--runtime", unit, ...assignments], t, signal);
    if (!set.ok) {
      // Could not even set the property: fall back to stop so the peer is still cut off.
      const r = await this.stopAndMask(unit, t, signal, applied);
      return out(fallback(r, `set-property IPAddressDeny=any failed (${set.error})`), {
        method: "systemd",
        unit,
        applied,
      });
    }
    applied.push(...assignments);
    if (prevAllow !== "") applied.push(`${WAS}IPAddressAllow=${prevAllow}`);
    if (prevDeny !== "") applied.push(`${WAS}IPAddressDeny=${prevDeny}`);

    const back = await this.systemctl.show(
      unit,
      ["IPAddressDeny", "IPAddressAllow", "ControlGroup", "ActiveState"],
      t,
      signal,
    );
    const deny = back.values.IPAddressDeny ?? "";
    const readBack =
      back.ok &&
      /0\.0\.0\.0\/0/.test(deny) &&
      /::\/0/.test(deny) &&
      (back.values.IPAddressAllow ?? "") === "";
    let verdict: CanaryVerdict;
    if (!readBack) {
      verdict = {
        enforced: false,
        detail: back.ok
          ? `IPAddressDeny reads back as "${deny}" (IPAddressAllow "${back.values.IPAddressAllow ?? ""}"), not deny-any`
          : `reading IPAddressDeny back failed: ${back.error}`,
      };
    } else {
      verdict = await this.verify({ controlGroup: back.values.ControlGroup ?? "", signal });
    }
    if (verdict.enforced) {
      return out(
        {
          ok: true,
          detail: `systemctl set-property --runtime ${unit} ${assignments.join(" ")}: read back ${deny}; ${verdict.detail}`,
        },
        { method: "systemd", unit, applied },
      );
    }
    const r = await this.stopAndMask(unit, t, signal, applied);
    return out(fallback(r, `network isolation of ${unit} is not enforced: ${verdict.detail}`), {
      method: "systemd",
      unit,
      applied,
    });
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

    const mode = spec.systemd.mode ?? "network";
    let applied: string[];
    const notes: string[] = [];
    if (record === null) {
      // The record was lost: undo what this mode would have applied, best effort.
      applied =
        mode === "network" ? [DENY_ANY, "mask", "stop"] : mode === "stop" ? ["mask", "stop"] : ["freeze"];
      notes.push(`no isolation record; undid what mode ${mode} applies`);
    } else {
      applied = record.applied;
    }
    const errors: string[] = [];
    const was = (prop: string): string =>
      applied.find((a) => a.startsWith(`${WAS}${prop}=`))?.slice(WAS.length + prop.length + 1) ?? "";

    // Undo in reverse order of application.
    if (applied.includes("mask")) await this.step(["unmask", "--runtime", unit], t, signal, notes, errors);
    if (applied.includes("freeze")) await this.step(["thaw", unit], t, signal, notes, errors);
    const props: string[] = [];
    if (applied.includes(DENY_ANY)) {
      props.push("IPAddressDeny=");
      const prev = was("IPAddressDeny");
      if (prev) props.push(`IPAddressDeny=${prev}`);
    }
    if (applied.includes(CLEAR_ALLOW)) {
      const prev = was("IPAddressAllow");
      if (prev) props.push(`IPAddressAllow=${prev}`);
    }
    if (props.length > 0)
      await this.step(["set-property", "--runtime", unit, ...props], t, signal, notes, errors);
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

  /** mask --runtime first (so nothing starts it again in between), then stop. */
  private async stopAndMask(
    unit: string,
    t: number,
    signal: AbortSignal,
    applied: string[],
  ): Promise<ActionResult> {
    const mask = await this.systemctl.call(["mask", "--runtime", unit], t, signal);
    if (mask.ok) applied.push("mask");
    const stop = await this.systemctl.call(["stop", unit], t, signal);
    if (stop.ok) applied.push("stop");
    if (!stop.ok) {
      return { ok: false, error: stop.error ?? `systemctl stop ${unit} failed` };
    }
    if (!mask.ok) {
      return {
        ok: true,
        detail: `systemctl stop ${unit}; mask --runtime failed (${mask.error}), so something may start it again`,
      };
    }
    // A unit file in /etc/systemd/system outranks the /run mask symlink: check it took.
    const load = await this.systemctl.show(unit, ["LoadState"], t, signal);
    if (load.ok && load.values.LoadState !== "masked") {
      return {
        ok: true,
        detail:
          `systemctl stop ${unit}; mask --runtime had no effect (LoadState=${load.values.LoadState ?? "?"}: ` +
          `its unit file outranks /run, e.g. it lives in /etc/systemd/system), so something may start it again`,
      };
    }
    return { ok: true, detail: `systemctl mask --runtime ${unit}; systemctl stop ${unit}` };
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

/** A unit name must be one argument that systemctl cannot read as an option. */
function checkUnit(unit: unknown): string | undefined {
  if (typeof unit !== "string" || unit.trim() === "")
    return "systemd.unit is empty: name the unit, e.g. sidecar.service";
  if (unit.startsWith("-")) return `systemd.unit "${unit}" starts with "-": not a unit name`;
  if (/[\s/]/.test(unit)) return `systemd.unit "${unit}" contains whitespace or "/": not a unit name`;
  return undefined;
}

function fallback(r: ActionResult, why: string): ActionResult {
  if (r.ok) return { ok: true, detail: `${why}; fell back to stop: ${r.detail ?? ""}` };
  return { ok: false, error: `${why}; the fallback to stop failed too: ${r.error ?? ""}` };
}
