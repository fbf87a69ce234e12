// Isolate mode "stop" (also the fallback of mode "network"): mask --runtime first, so
// nothing starts the unit again in between, then stop it.
import type { ActionResult } from "../core/types.js";
import type { SystemdIsolation } from "../core/isolation.js";
import type { UnitCall } from "./systemd-call.js";

/** Masks and stops the unit, marking in `done` each step that took. */
export async function stopAndMask(c: UnitCall, done: SystemdIsolation): Promise<ActionResult> {
  const { systemctl, unit, t, signal } = c;
  const mask = await systemctl.call(["mask", "--runtime", unit], t, signal);
  if (mask.ok) done.masked = true;
  const stop = await systemctl.call(["stop", unit], t, signal);
  if (stop.ok) done.stopped = true;
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
  const load = await systemctl.show(unit, ["LoadState"], t, signal);
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

/** The result of a fallback to stop, saying why it was needed. */
export function fallback(r: ActionResult, why: string): ActionResult {
  if (r.ok) return { ok: true, detail: `${why}; fell back to stop: ${r.detail ?? ""}` };
  return { ok: false, error: `${why}; the fallback to stop failed too: ${r.error ?? ""}` };
}
