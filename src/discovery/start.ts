// The daemon's discovery: `peers_from` of the config, started after the Monitor and
// stopped before it. Takes the resolved config's shape structurally (config/ is a later
// layer).
import type { ContainerEngine } from "../core/container.js";
import type { Logger } from "../core/logger.js";
import { ContainerDiscovery, type PeerRegistry } from "./containers.js";

export interface Discovery {
  stop(): Promise<void>;
}

/** What discovery reads of the resolved config. */
export interface DiscoveryConfig {
  peersFrom: {
    containers?: { engine: ContainerEngine; socket?: string; label: string; timeoutMs: number };
  } | null;
  peers: ReadonlyArray<{ name: string }>;
  mesh: { members: ReadonlyArray<{ name: string }> } | null;
  monitor: { policy: { intervalMs: number } };
}

export async function startDiscovery(
  config: DiscoveryConfig,
  registry: PeerRegistry,
  logger: Logger,
): Promise<Discovery> {
  const c = config.peersFrom?.containers;
  if (!c) return { stop: () => Promise.resolve() };
  const configured = new Set(config.peers.map((p) => p.name));
  for (const m of config.mesh?.members ?? []) configured.add(m.name);
  const d = new ContainerDiscovery(registry, {
    engine: c.engine,
    ...(c.socket ? { socket: c.socket } : {}),
    label: c.label,
    timeoutMs: c.timeoutMs,
    intervalMs: config.monitor.policy.intervalMs,
    taken: (name) => configured.has(name),
    logger,
  });
  await d.start();
  return d;
}
