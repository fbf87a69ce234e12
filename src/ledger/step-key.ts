// How a remediation effect is named in the step ledger, and how long it may block its peer.
import { ACTION_DEFAULTS } from "../core/defaults.js";
import { parseDuration } from "../core/duration.js";
import type { RemediationEffect } from "../core/ladder.js";
import { containerRestartDeadlineMs } from "../core/container.js";
import type { CommandSpec, IsolateSpec, PeerSpec, RestartSpec } from "../core/options.js";

/** The incident name of a step taken outside any incident (an operator restart of a healthy peer). */
export const NO_INCIDENT = "-";

/**
 * The step within its incident: a ladder restart is "restart#N" (attempt N), the
 * isolation "isolate"; an operator restart (attempt 0) and a release are named by their
 * effect id, since an operator may ask for several in one incident.
 */
export function stepKey(e: RemediationEffect): string {
  if (e.kind === "restart") return e.attempt > 0 ? `restart#${e.attempt}` : `restart@${e.actionId}`;
  if (e.kind === "isolate") return "isolate";
  return `release@${e.actionId}`;
}

const commandMs = (c: CommandSpec): number =>
  c.timeout === undefined ? ACTION_DEFAULTS.commandTimeoutMs : parseDuration(c.timeout);

function methodMs(spec: RestartSpec | IsolateSpec | "none" | undefined): number {
  if (spec === undefined || spec === "none") return 0;
  if ("systemd" in spec)
    return spec.systemd.timeout === undefined
      ? ACTION_DEFAULTS.systemctlTimeoutMs
      : parseDuration(spec.systemd.timeout);
  // A container step: the engine's stop timeout plus its request deadline.
  if ("container" in spec) return containerRestartDeadlineMs(spec.container);
  const release = "release" in spec && spec.release ? commandMs(spec.release) : 0;
  return Math.max(commandMs(spec.command), release);
}

/**
 * How long a step that never says it finished blocks its peer, ms: its method's own
 * timeout (the executors' default unless the spec sets one); an isolation or release
 * also has the isolation check's time. At least one second.
 */
export function stepTimeoutMs(spec: Pick<PeerSpec, "restart" | "isolate">, e: RemediationEffect): number {
  const ms =
    e.kind === "restart"
      ? methodMs(spec.restart)
      : methodMs(spec.isolate) + ACTION_DEFAULTS.verifyProcessTimeoutMs;
  return Math.max(1_000, ms);
}
