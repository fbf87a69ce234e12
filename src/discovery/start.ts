// The daemon's discovery: `peers_from` of the config, started after the Monitor and
// stopped before it, and swapped by a reload that changes it. Takes the resolved config's
// shape structurally (config/ is a later layer).
//
// A reload that changes `peers_from.containers` (engine, socket, label, timeout) stops
// the old discovery and starts the new one with the old one's peers handed over: a
// container matched before and after stays the same peer (state, counters, incident and
// history kept; no alert), one the new settings no longer match is removed as a removed
// container is (no alert; its history stays), and a new match is registered. When the
// new discovery cannot list (engine down, wrong socket) it keeps the peers handed over,
// as a running discovery keeps its peers when the engine stops answering.
import type { ContainerEngine } from "../core/container.js";
import type { Logger } from "../core/logger.js";
import { ContainerDiscovery, type PeerRegistry } from "./containers.js";

export interface Discovery {
  /** Applies a reloaded config: a changed `peers_from` swaps the discovery (see above). */
  reconfigure(config: DiscoveryConfig): Promise<{ changed: boolean }>;
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

/** The discovery options the config sets; null without `peers_from.containers`. */
function settingsOf(config: DiscoveryConfig) {
  const c = config.peersFrom?.containers;
  if (!c) return null;
  return {
    engine: c.engine,
    ...(c.socket ? { socket: c.socket } : {}),
    label: c.label,
    timeoutMs: c.timeoutMs,
    intervalMs: config.monitor.policy.intervalMs,
  };
}

/** What of the config a running container discovery depends on (a change swaps it). */
export function discoverySettings(config: DiscoveryConfig): string | null {
  const s = settingsOf(config);
  return s === null ? null : JSON.stringify(s);
}

function namesOf(config: DiscoveryConfig): Set<string> {
  const names = new Set(config.peers.map((p) => p.name));
  for (const m of config.mesh?.members ?? []) names.add(m.name);
  return names;
}

class DiscoveryRunner implements Discovery {
  private configured: Set<string>;
  private settings: string | null;
  private current: ContainerDiscovery | null = null;
  private stopped = false;

  constructor(
    config: DiscoveryConfig,
    private readonly registry: PeerRegistry,
    private readonly logger: Logger,
  ) {
    this.configured = namesOf(config);
    this.settings = discoverySettings(config);
  }

  async start(config: DiscoveryConfig, adopt?: ReadonlyMap<string, string>): Promise<void> {
    const settings = settingsOf(config);
    if (!settings || this.stopped) return;
    const d = new ContainerDiscovery(this.registry, {
      ...settings,
      taken: (name) => this.configured.has(name),
      logger: this.logger,
      ...(adopt ? { adopt } : {}),
    });
    this.current = d;
    await d.start();
  }

  async reconfigure(config: DiscoveryConfig): Promise<{ changed: boolean }> {
    if (this.stopped) return { changed: false };
    this.configured = namesOf(config);
    const next = discoverySettings(config);
    if (next === this.settings) return { changed: false };
    this.settings = next;
    const old = this.current;
    this.current = null;
    await old?.stop();
    // Read after stop(): a reconcile under way has finished.
    const owned = old ? old.owned() : new Map<string, string>();
    if (this.stopped) return { changed: true };
    if (next === null) {
      // No discovery any more: its peers go as removed containers' do.
      for (const name of owned.keys()) {
        await this.registry.removePeer(name);
        this.logger.info(
          { peer: name },
          "container discovery: peers_from removed; peer removed (its history stays)",
        );
      }
      return { changed: true };
    }
    await this.start(config, owned);
    return { changed: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const d = this.current;
    this.current = null;
    await d?.stop();
  }
}

export async function startDiscovery(
  config: DiscoveryConfig,
  registry: PeerRegistry,
  logger: Logger,
): Promise<Discovery> {
  const runner = new DiscoveryRunner(config, registry, logger);
  await runner.start(config);
  return runner;
}
