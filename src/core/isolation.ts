// What an isolation changed on the world, remembered durably (the store keeps it as JSON
// until a successful release) so a release — even after a crash and restart of the
// watchdog — undoes exactly that. Shared by act/ (writes it), store/ (keeps it) and the
// Monitor (carries it from isolate to release), so it lives here.
import type { CommandSpec, IsolateMode } from "./options.js";
import type { ContainerIsolation } from "./container.js";

/** What the systemd executor changed on a unit, structured. */
export interface SystemdIsolation {
  /** The isolate mode that ran (the network mode may have fallen back to mask + stop). */
  mode: IsolateMode;
  /**
   * Set when IPAddressDeny=any was set at runtime: the unit's IPAddressDeny and
   * IPAddressAllow before ("" = none), restored on release. A non-empty IPAddressAllow
   * was cleared, since an allow wins over a deny.
   */
  network?: { previousDeny: string; previousAllow: string };
  /** systemctl mask --runtime took. */
  masked: boolean;
  /** systemctl stop took. */
  stopped: boolean;
  /** systemctl freeze took. */
  frozen: boolean;
}

/** What an isolation actually applied, remembered so release undoes exactly that. */
export interface IsolationRecord {
  method: "systemd" | "command" | "container" | "none";
  unit?: string;
  /**
   * The steps applied, in order, as shown to people, e.g. ["IPAddressDeny=any"],
   * ["mask", "stop"], ["freeze"], or the command that ran.
   */
  applied: string[];
  /** For method systemd: what was changed, structured (release reads this). */
  systemd?: SystemdIsolation;
  /** For method command: the release command configured when the isolation ran (release runs it). */
  release?: CommandSpec;
  /** For method container: the networks it was on and what took (release reads this). */
  container?: ContainerIsolation;
}

/** Records stored before the structured form kept previous values as "was:PROP=VALUE" steps. */
const LEGACY_WAS = "was:";

/**
 * Reads an isolation record as stored, of any version: a record written before
 * `systemd` existed gets it rebuilt from its `applied` steps (including the legacy
 * "was:" entries, which are dropped from `applied`). Unreadable input gives null.
 */
export function readIsolationRecord(value: unknown): IsolationRecord | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Partial<IsolationRecord>;
  if (v.method !== "systemd" && v.method !== "command" && v.method !== "container" && v.method !== "none")
    return null;
  const applied = Array.isArray(v.applied) ? v.applied.filter((a): a is string => typeof a === "string") : [];
  const record: IsolationRecord = {
    method: v.method,
    ...(typeof v.unit === "string" ? { unit: v.unit } : {}),
    applied: applied.filter((a) => !a.startsWith(LEGACY_WAS)),
    ...(v.method === "command" && isCommandSpec(v.release) ? { release: v.release } : {}),
  };
  if (v.method === "container") {
    return v.container && typeof v.container === "object" ? { ...record, container: v.container } : record;
  }
  if (v.method !== "systemd") return record;
  if (v.systemd && typeof v.systemd === "object") return { ...record, systemd: v.systemd };
  return { ...record, systemd: systemdFromLegacySteps(applied) };
}

function isCommandSpec(v: unknown): v is CommandSpec {
  if (typeof v !== "object" || v === null) return false;
  const argv = (v as { argv?: unknown }).argv;
  return Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === "string");
}

function systemdFromLegacySteps(applied: string[]): SystemdIsolation {
  const was = (prop: string): string =>
    applied.find((a) => a.startsWith(`${LEGACY_WAS}${prop}=`))?.slice(LEGACY_WAS.length + prop.length + 1) ??
    "";
  const denied = applied.includes("IPAddressDeny=any");
  const frozen = applied.includes("freeze");
  return {
    mode: denied ? "network" : frozen ? "freeze" : "stop",
    ...(denied
      ? {
          network: {
            previousDeny: was("IPAddressDeny"),
            previousAllow: applied.includes("IPAddressAllow=") ? was("IPAddressAllow") : "",
          },
        }
      : {}),
    masked: applied.includes("mask"),
    stopped: applied.includes("stop"),
    frozen,
  };
}
