// Isolate mode "freeze": systemctl freeze (the cgroup v2 freezer; a clear error on hosts
// without it).
import type { ActionResult } from "../core/types.js";
import type { SystemdIsolation } from "../core/isolation.js";
import type { UnitCall } from "./systemd-call.js";

export async function freeze(c: UnitCall, done: SystemdIsolation): Promise<ActionResult> {
  const { unit } = c;
  const r = await c.systemctl.call(["freeze", unit], c.t, c.signal);
  if (!r.ok) {
    const unsupported = /does not support freezing|not supported/i.test(r.stderr);
    return {
      ok: false,
      error: unsupported
        ? `cannot freeze ${unit}: systemctl freeze is not supported on this host (it needs the cgroup v2 freezer; ` +
          `this host's cgroup layout lacks it). Use isolate mode "network" or "stop". (${r.error})`
        : (r.error ?? `systemctl freeze ${unit} failed`),
    };
  }
  done.frozen = true;
  return { ok: true, detail: `systemctl freeze ${unit}: its processes are frozen` };
}
