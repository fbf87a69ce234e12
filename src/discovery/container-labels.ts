// A labelled container → the PeerSpec it is watched with. Pure.
//
// Labels (all optional; the defaults make a container with only the watch label a
// container-probed, container-restarted, network-isolated peer):
//   wdmesh.name                    peer name (default: the container's name)
//   wdmesh.probe.http=URL          probe over HTTP instead of the engine's health status
//   wdmesh.probe.tcp=HOST:PORT     probe a TCP port instead
//   wdmesh.restart=container|none  default container
//   wdmesh.isolate=network|none    default network (disconnect, verified)
//   wdmesh.host_mode=pause|stop    what isolation does on the host's network; default pause
//   wdmesh.stop_timeout, wdmesh.interval, wdmesh.timeout, wdmesh.retry_interval,
//   wdmesh.startup_grace, wdmesh.stable_after   durations ("30s", "500ms")
//   wdmesh.missed_before_restart, wdmesh.restarts_before_isolate   counts
import type { ContainerEngine } from "../core/container.js";
import type { PeerSpec, ProbeSpec } from "../core/options.js";
import { CONTAINER_HOST_MODES, nameProblem } from "../core/rules.js";

export interface DiscoveredContainer {
  id: string;
  /** The container's name (no leading slash). */
  name: string;
  labels: Record<string, string>;
}

export interface LabelContext {
  engine: ContainerEngine;
  socket?: string;
}

export type LabelOutcome = { ok: true; spec: PeerSpec } | { ok: false; error: string };

const DURATION_LABELS = {
  "wdmesh.interval": "interval",
  "wdmesh.timeout": "timeout",
  "wdmesh.retry_interval": "retryInterval",
  "wdmesh.startup_grace": "startupGrace",
  "wdmesh.stable_after": "stableAfter",
} as const;
const COUNT_LABELS = {
  "wdmesh.missed_before_restart": "missedBeforeRestart",
  "wdmesh.restarts_before_isolate": "restartsBeforeIsolate",
} as const;

/** The peer a container is watched as; a bad label is an error naming the container and label. */
export function peerSpecFromLabels(c: DiscoveredContainer, ctx: LabelContext): LabelOutcome {
  const l = c.labels;
  const where = (label: string): string => `container ${c.name}: label ${label}`;
  const name = l["wdmesh.name"] ?? c.name;
  const badName = nameProblem(name);
  if (badName) {
    return {
      ok: false,
      error: `${l["wdmesh.name"] ? where("wdmesh.name") : `container name ${c.name}`}: ${JSON.stringify(name)} ${badName}`,
    };
  }
  const ref = { name: c.name, engine: ctx.engine, ...(ctx.socket ? { socket: ctx.socket } : {}) };
  let probe: ProbeSpec = { container: { ...ref, discovered: true } };
  const http = l["wdmesh.probe.http"];
  const tcp = l["wdmesh.probe.tcp"];
  if (http !== undefined && tcp !== undefined) {
    return {
      ok: false,
      error: `container ${c.name}: give at most one of the labels wdmesh.probe.http and wdmesh.probe.tcp`,
    };
  }
  if (http !== undefined) probe = { http: { url: http } };
  if (tcp !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(tcp);
    if (!m)
      return { ok: false, error: `${where("wdmesh.probe.tcp")}: ${JSON.stringify(tcp)} is not HOST:PORT` };
    probe = { tcp: { host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(m[2]) } };
  }
  const spec: PeerSpec = { name, probe };
  const stopTimeout = l["wdmesh.stop_timeout"];
  const restart = l["wdmesh.restart"] ?? "container";
  if (restart === "none") spec.restart = "none";
  else if (restart === "container")
    spec.restart = { container: { ...ref, ...(stopTimeout ? { stopTimeout } : {}) } };
  else return { ok: false, error: `${where("wdmesh.restart")}: must be container or none (got ${restart})` };
  const isolate = l["wdmesh.isolate"];
  const hostMode = l["wdmesh.host_mode"];
  if (hostMode !== undefined && !(CONTAINER_HOST_MODES as readonly string[]).includes(hostMode)) {
    return {
      ok: false,
      error: `${where("wdmesh.host_mode")}: must be ${CONTAINER_HOST_MODES.join(" or ")} (got ${hostMode})`,
    };
  }
  if (isolate === "none") spec.isolate = "none";
  else if (isolate === undefined || isolate === "network") {
    spec.isolate = {
      container: {
        ...ref,
        ...(hostMode ? { hostMode: hostMode as (typeof CONTAINER_HOST_MODES)[number] } : {}),
        ...(stopTimeout ? { stopTimeout } : {}),
      },
    };
  } else return { ok: false, error: `${where("wdmesh.isolate")}: must be network or none (got ${isolate})` };
  for (const [label, key] of Object.entries(DURATION_LABELS)) {
    const v = l[label];
    if (v !== undefined) spec[key] = /^\d+$/.test(v) ? Number(v) : v;
  }
  for (const [label, key] of Object.entries(COUNT_LABELS)) {
    const v = l[label];
    if (v === undefined) continue;
    if (!/^\d+$/.test(v)) return { ok: false, error: `${where(label)}: must be a whole number (got ${v})` };
    spec[key] = Number(v);
  }
  return { ok: true, spec };
}
