// Isolate mode "network": set-property --runtime IPAddressDeny=any (cgroup eBPF, clearing
// an IPAddressAllow that would win over it), read it back, then prove it with a canary
// (verify-isolation.ts). Not enforced → fall back to mask + stop, and say so.
import type { ActionResult } from "../core/types.js";
import type { SystemdIsolation } from "../core/isolation.js";
import type { UnitCall } from "./systemd-call.js";
import { fallback, stopAndMask } from "./systemd-stop.js";
import type { CanaryOptions, CanaryVerdict } from "./verify-isolation.js";

export const DENY_ANY = "IPAddressDeny=any";
export const CLEAR_ALLOW = "IPAddressAllow=";

export async function isolateNetwork(
  c: UnitCall,
  before: { deny: string; allow: string },
  verify: (opts: CanaryOptions) => Promise<CanaryVerdict>,
  done: SystemdIsolation,
): Promise<ActionResult> {
  const { systemctl, unit, t, signal } = c;
  // IPAddressAllow= wins over IPAddressDeny=; clear it so nothing stays reachable.
  const assignments = before.allow !== "" ? [CLEAR_ALLOW, DENY_ANY] : [DENY_ANY];
  const set = await systemctl.call(["set-property", "--runtime", unit, ...assignments], t, signal);
  if (!set.ok) {
    // Could not even set the property: fall back to stop so the peer is still cut off.
    const r = await stopAndMask(c, done);
    return fallback(r, `set-property IPAddressDeny=any failed (${set.error})`);
  }
  done.network = { previousDeny: before.deny, previousAllow: before.allow };

  const back = await systemctl.show(
    unit,
    ["IPAddressDeny", "IPAddressAllow", "ControlGroup", "ActiveState"],
    t,
    signal,
  );
  const deny = back.values.IPAddressDeny ?? "";
  const readBack =
    back.ok && /0\.0\.0\.0\/0/.test(deny) && /::\/0/.test(deny) && (back.values.IPAddressAllow ?? "") === "";
  const verdict: CanaryVerdict = readBack
    ? await verify({ controlGroup: back.values.ControlGroup ?? "", signal })
    : {
        enforced: false,
        detail: back.ok
          ? `IPAddressDeny reads back as "${deny}" (IPAddressAllow "${back.values.IPAddressAllow ?? ""}"), not deny-any`
          : `reading IPAddressDeny back failed: ${back.error}`,
      };
  if (verdict.enforced) {
    return {
      ok: true,
      detail: `systemctl set-property --runtime ${unit} ${assignments.join(" ")}: read back ${deny}; ${verdict.detail}`,
    };
  }
  const r = await stopAndMask(c, done);
  return fallback(r, `network isolation of ${unit} is not enforced: ${verdict.detail}`);
}

/** The runtime properties that undo a network isolation, restoring what was there before. */
export function networkUndo(n: NonNullable<SystemdIsolation["network"]>): string[] {
  return [
    "IPAddressDeny=",
    ...(n.previousDeny ? [`IPAddressDeny=${n.previousDeny}`] : []),
    ...(n.previousAllow ? [`IPAddressAllow=${n.previousAllow}`] : []),
  ];
}
