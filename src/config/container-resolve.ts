// Container keys of the config file → library options (camelCase, durations in ms).
import type { ContainerRef, ContainerEngine, ContainerHostMode } from "../core/container.js";
import { CONTAINER_DEFAULTS } from "../core/defaults.js";
import { parseDuration, type Duration } from "../core/duration.js";
import type { ConfigFile } from "./schema.js";

/** peers_from.containers, resolved. */
export interface ResolvedContainerDiscovery {
  engine: ContainerEngine;
  /** Absolute path; the engine's default when not set. */
  socket?: string;
  /** KEY or KEY=VALUE. */
  label: string;
  /** Deadline of each engine request, ms. */
  timeoutMs: number;
}

export interface ResolvedPeersFrom {
  containers?: ResolvedContainerDiscovery;
}

interface FileContainer {
  name?: string | undefined;
  id?: string | undefined;
  engine?: ContainerEngine | undefined;
  socket?: string | undefined;
  timeout?: Duration | undefined;
  stop_timeout?: Duration | undefined;
  host_mode?: ContainerHostMode | undefined;
}

/** A `container:` mapping (probe, restart or isolate) → its spec, durations in ms. */
export function containerSpec(c: FileContainer): ContainerRef & {
  stopTimeout?: number;
  hostMode?: ContainerHostMode;
} {
  return {
    ...(c.name === undefined ? {} : { name: c.name }),
    ...(c.id === undefined ? {} : { id: c.id }),
    engine: c.engine ?? CONTAINER_DEFAULTS.engine,
    ...(c.socket === undefined ? {} : { socket: c.socket }),
    ...(c.timeout === undefined ? {} : { timeout: parseDuration(c.timeout) }),
    ...(c.stop_timeout === undefined ? {} : { stopTimeout: parseDuration(c.stop_timeout) }),
    ...(c.host_mode === undefined ? {} : { hostMode: c.host_mode }),
  };
}

export function peersFrom(p: ConfigFile["peers_from"]): ResolvedPeersFrom | null {
  if (p?.containers === undefined) return null;
  const c = p.containers;
  return {
    containers: {
      engine: c.engine ?? CONTAINER_DEFAULTS.engine,
      ...(c.socket === undefined ? {} : { socket: c.socket }),
      label: c.label ?? CONTAINER_DEFAULTS.label,
      timeoutMs: c.timeout === undefined ? CONTAINER_DEFAULTS.requestTimeoutMs : parseDuration(c.timeout),
    },
  };
}
