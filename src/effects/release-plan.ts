// How a release undoes an isolation: chosen from the isolation record (what was applied:
// method, unit, steps, the release command configured then), never from the config in
// force, which may have changed since (a reload to `isolate: none` or to another method
// must not turn a release into "nothing to undo" while the unit stays cut). Only a record
// that does not say enough falls back to the current config; when neither does, the
// release is refused with the reason and the record is kept.
import type { IsolationRecord } from "../core/isolation.js";
import type { IsolateSpec } from "../core/options.js";

export type ReleasePlan =
  /** Run the executor's release with this spec (and the record). */
  | { run: IsolateSpec }
  /** Nothing was applied: the release succeeds at once with this detail. */
  | { nothing: string }
  /** The record cannot be undone from here: refuse with this reason, keep the record. */
  | { refuse: string };

export function releasePlan(
  record: IsolationRecord | null,
  current: IsolateSpec | "none" | undefined,
): ReleasePlan {
  const configured = current === undefined || current === "none" ? undefined : current;
  if (record === null) {
    // No record (lost, or written by a version that kept none): the config in force is all there is.
    return configured
      ? { run: configured }
      : { nothing: "no isolate method is configured, so nothing was applied; nothing to undo" };
  }
  if (record.method === "none" || record.applied.length === 0) {
    return { nothing: "the isolation applied nothing; nothing to undo" };
  }
  if (record.method === "systemd") {
    const now = configured && "systemd" in configured ? configured.systemd : undefined;
    const unit = record.unit ?? now?.unit;
    if (unit === undefined) {
      return {
        refuse: `the isolation record (${record.applied.join(", ")}) names no unit and no systemd isolate method is configured; undo it by hand (systemctl), or configure isolate.systemd.unit, then release`,
      };
    }
    return {
      run: {
        systemd: {
          unit,
          ...(record.systemd?.mode ? { mode: record.systemd.mode } : {}),
          ...(now?.timeout !== undefined ? { timeout: now.timeout } : {}),
        },
      },
    };
  }
  if (record.method === "container") {
    const c = record.container;
    const now = configured && "container" in configured ? configured.container : undefined;
    if (c === undefined || now === undefined) {
      return {
        refuse: `the isolation record (${record.applied.join(", ")}) ${c === undefined ? "names no container" : "does not say which engine socket it used"} and no container isolate method is configured; undo it by hand (docker/podman network connect, unpause), or configure isolate.container, then release`,
      };
    }
    // The recorded container (by id), through the engine socket configured now.
    const { name: _name, ...engine } = now;
    return { run: { container: { ...engine, id: c.id } } };
  }
  // method "command": the release command recorded with the isolation, else the one configured now.
  const release = record.release ?? (configured && "command" in configured ? configured.release : undefined);
  if (release === undefined) {
    return {
      refuse: `the isolation ran "${record.applied.join(", ")}" and no release command was recorded with it or is configured (isolate.release); undo it by hand, or configure isolate.release, reload and release again`,
    };
  }
  // A release never runs the isolate command itself: only `release` of this spec is read.
  return { run: { command: { argv: record.applied }, release } };
}
