// Container probe: reads the engine's own verdict on a container (Docker Engine API,
// GET /containers/{id}/json), so the container's HEALTHCHECK drives the ladder.
//   State.Health.Status healthy   → alive
//                       unhealthy → a miss (with the failing streak and last output)
//                       starting  → grace: inconclusive (cause grace), not a miss and not
//                                   this node's trouble (the start period runs)
//   no HEALTHCHECK                → alive while running
//   not running / paused / gone   → a miss, saying how it ended (exit code, OOM kill);
//                                   gone, for a discovered container: inconclusive (grace),
//                                   as discovery unwatches a removed container
// When the engine itself cannot be asked (socket missing, refused, permission denied,
// timeout), the probe says nothing about the container: inconclusive, not a miss, so
// the node holds rather than restart what it cannot see.
import type { ContainerProbeSpec } from "../core/container.js";
import { containerRefOf } from "../core/container.js";
import type { ProbeResult } from "../core/types.js";
import { EngineClient } from "../engine/client.js";
import { clientFor, inspectContainer, type ContainerView } from "../engine/container-view.js";
import { CONTAINER_DEFAULTS } from "../core/defaults.js";

export function containerVerdict(v: ContainerView): { ok: boolean; grace?: boolean; error?: string } {
  const who = `container ${v.name || v.id.slice(0, 12)}`;
  if (v.paused) return { ok: false, error: `${who} is paused` };
  if (!v.running) {
    const how = v.oomKilled
      ? "was killed for lack of memory (OOMKilled)"
      : `exited with code ${v.exitCode}${v.finishedAt && !v.finishedAt.startsWith("0001-") ? ` at ${v.finishedAt}` : ""}`;
    return {
      ok: false,
      error: `${who} is not running (${v.status || "unknown"}): ${how}${v.error ? `; ${v.error}` : ""}`,
    };
  }
  if (!v.health) return { ok: true };
  if (v.health.status === "healthy") return { ok: true };
  if (v.health.status === "starting") {
    return {
      ok: false,
      grace: true,
      error: `${who} health is starting (HEALTHCHECK start period): not a miss`,
    };
  }
  return {
    ok: false,
    error: `${who} is ${v.health.status} (HEALTHCHECK failing streak ${v.health.failingStreak}${v.health.lastOutput ? `, last output: ${v.health.lastOutput}` : ""})`,
  };
}

/** One container probe within `timeoutMs`; never throws. */
export async function probeContainer(
  spec: ContainerProbeSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const t0 = performance.now();
  const base = clientFor(spec);
  const client = new EngineClient({ ...base.opts, timeoutMs: Math.min(timeoutMs, base.opts.timeoutMs) });
  const ms = (): number => Math.round(performance.now() - t0);
  const r = await inspectContainer(client, containerRefOf(spec), signal);
  if (!r.ok) {
    if (r.code === "WDM_CONTAINER_GONE") {
      // A discovered container removed before discovery saw it go: discovery's business.
      if (spec.discovered === true) {
        return {
          ok: false,
          duration_ms: ms(),
          inconclusive: true,
          cause: { kind: "grace" },
          error: `${r.error}: removed; container discovery unwatches it (not a miss)`,
        };
      }
      return { ok: false, duration_ms: ms(), error: r.error };
    }
    return {
      ok: false,
      duration_ms: ms(),
      inconclusive: true,
      error: `cannot ask the ${spec.engine ?? CONTAINER_DEFAULTS.engine} engine: ${r.error}`,
    };
  }
  const v = containerVerdict(r.body);
  if (v.ok) return { ok: true, duration_ms: ms() };
  return {
    ok: false,
    duration_ms: ms(),
    error: v.error ?? "container not healthy",
    ...(v.grace ? { inconclusive: true, cause: { kind: "grace" } } : {}),
  };
}

/** Endpoint shown for a container peer: container://ENGINE/NAME. */
export function containerEndpoint(spec: ContainerProbeSpec): string {
  return `container://${spec.engine ?? CONTAINER_DEFAULTS.engine}/${containerRefOf(spec)}`;
}
