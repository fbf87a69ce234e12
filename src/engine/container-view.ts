// The few fields of a container's inspect answer (GET /containers/{id}/json) and list
// answer (GET /containers/json) this product reads, normalised: Docker and Podman
// differ in small ways (Podman reports no State.Health when there is no HEALTHCHECK,
// Docker omits it; Podman's NetworkMode is "bridge" for a named network too).
import type { ContainerNetworkRecord, ContainerRef } from "../core/container.js";
import { containerRefOf, containerRequestTimeoutMs, containerSocketOf } from "../core/container.js";
import { CONTAINER_DEFAULTS } from "../core/defaults.js";
import { EngineClient, seg, type EngineResult } from "./client.js";

/** One network the container is on: what an isolation record keeps of it, before the disconnect. */
export type ContainerNetworkView = Omit<ContainerNetworkRecord, "disconnected">;

export interface ContainerView {
  id: string;
  name: string;
  status: string;
  running: boolean;
  paused: boolean;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  startedAt: string;
  finishedAt: string;
  pid: number;
  /** State.Health, when the container has a HEALTHCHECK. */
  health?: { status: string; failingStreak: number; lastOutput?: string };
  /** HostConfig.NetworkMode, e.g. "bridge", "host", "none", "container:ID". */
  networkMode: string;
  networks: ContainerNetworkView[];
  labels: Record<string, string>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export function containerView(raw: unknown): ContainerView {
  const r = obj(raw);
  const state = obj(r.State);
  const health = state.Health === undefined || state.Health === null ? undefined : obj(state.Health);
  const log = Array.isArray(health?.Log) ? (health.Log as unknown[]) : [];
  const last = log.length > 0 ? obj(log[log.length - 1]) : undefined;
  const nets = obj(obj(r.NetworkSettings).Networks);
  const id = str(r.Id);
  const shortId = id.slice(0, 12);
  const labels = obj(obj(r.Config).Labels);
  const healthStatus = str(health?.Status);
  return {
    id,
    name: str(r.Name).replace(/^\//, ""),
    status: str(state.Status),
    running: state.Running === true,
    paused: state.Paused === true,
    exitCode: num(state.ExitCode),
    oomKilled: state.OOMKilled === true,
    error: str(state.Error),
    startedAt: str(state.StartedAt),
    finishedAt: str(state.FinishedAt),
    pid: num(state.Pid),
    ...(health && healthStatus !== "" && healthStatus !== "none"
      ? {
          health: {
            status: healthStatus,
            failingStreak: num(health.FailingStreak),
            ...(last && str(last.Output).trim() !== ""
              ? { lastOutput: str(last.Output).trim().slice(0, 200) }
              : {}),
          },
        }
      : {}),
    networkMode: str(obj(r.HostConfig).NetworkMode),
    networks: Object.entries(nets).map(([network, v]) => {
      const n = obj(v);
      const ipam = obj(n.IPAMConfig);
      const aliases = Array.isArray(n.Aliases)
        ? n.Aliases.filter((a): a is string => typeof a === "string")
        : [];
      const out: ContainerNetworkView = {
        network,
        // The engine adds the short id as an alias by itself.
        aliases: aliases.filter((a) => a !== shortId && a !== id),
      };
      if (str(n.IPAddress)) out.ipv4 = str(n.IPAddress);
      if (str(n.GlobalIPv6Address)) out.ipv6 = str(n.GlobalIPv6Address);
      if (str(ipam.IPv4Address)) out.staticIpv4 = str(ipam.IPv4Address);
      if (str(ipam.IPv6Address)) out.staticIpv6 = str(ipam.IPv6Address);
      return out;
    }),
    labels: Object.fromEntries(
      Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string"),
    ),
  };
}

/** True when the container shares the host's (or another container's) network: nothing of its own to cut. */
export function sharesNetwork(v: ContainerView): boolean {
  return (
    v.networkMode === "host" ||
    v.networkMode.startsWith("container:") ||
    v.networks.some((n) => n.network === "host")
  );
}

export function clientFor(spec: ContainerRef): EngineClient {
  return new EngineClient({
    socket: containerSocketOf(spec),
    engine: spec.engine ?? CONTAINER_DEFAULTS.engine,
    timeoutMs: containerRequestTimeoutMs(spec),
  });
}

/** Inspects the container a spec names. */
export async function inspectContainer(
  client: EngineClient,
  ref: string,
  signal?: AbortSignal,
): Promise<EngineResult<ContainerView>> {
  const r = await client.request("GET", `/containers/${seg(ref)}/json`, undefined, signal);
  if (!r.ok) {
    if (r.code === "WDM_CONTAINER_GONE") {
      return {
        ...r,
        error: `container ${ref} not found on the ${client.opts.engine} engine (removed, or a wrong name/id?)`,
      };
    }
    return r;
  }
  return { ok: true, status: r.status, body: containerView(r.body) };
}

export { containerRefOf };
