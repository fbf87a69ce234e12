// The fleet side of `wdmesh run` when `coordination.etcd` is configured: the FleetNode,
// the fleet gate wrapped in the host rule (with its quiet misses, remote-quiet.ts), the claimer that takes each step in etcd,
// the publisher of this node's observations, the watch on hosts that lost their node, the
// status served at /v1/fleet and the http_sd list served at /v1/sd. The daemon imports
// this file lazily (only with coordination), and it loads the etcd client lazily too.
import { randomUUID } from "node:crypto";
import { Gauge, type Registry } from "prom-client";
import { CommandExecutor } from "../act/command.js";
import type { RemediationGate } from "../core/gate.js";
import type { Logger } from "../core/logger.js";
import type { CommandSpec } from "../core/options.js";
import type { StepClaimer } from "../effects/runner.js";
import type { EscalationAction, PeerHealth } from "../core/types.js";
import type { MonitorStore } from "../store/types.js";
import { createFleetGate, ObservationPublisher } from "./fleet-gate.js";
import { FleetNode, type FleetEtcdOptions } from "./fleet-node.js";
import type { FleetStatusView } from "./keys.js";
import { withHostRule } from "./host-rule.js";
import { fleetStepClaimer } from "./step-claimer.js";
import { HostWatch, type HostEvent } from "./host-watch.js";
import { RemoteQuiet } from "./remote-quiet.js";
import { httpSdGroups, type HttpSdGroup } from "./http-sd.js";

export interface FleetRuntimeConfig {
  node: string;
  host: string;
  peerHosts: Readonly<Record<string, string>>;
  etcd: FleetEtcdOptions;
  hosts: ReadonlyArray<{ name: string; fence?: CommandSpec }>;
  /** Local check period of observations and hosts, ms. */
  publishIntervalMs: number;
}

export interface FleetRuntime {
  readonly node: FleetNode;
  /** Takes each step in etcd before the host's ledger (its token is the fencing token). */
  readonly claimer: StepClaimer;
  readonly gate: RemediationGate;
  /** Starts the fleet once the API listens at `url` (listed in this node's member key). */
  start(url: string, peers: () => PeerHealth[], registry?: Registry): Promise<void>;
  stop(): Promise<void>;
  status(): FleetStatusView;
  sd(): HttpSdGroup[];
}

export function createFleetRuntime(
  cfg: FleetRuntimeConfig,
  deps: { store: Pick<MonitorStore, "commit">; logger: Logger },
): FleetRuntime {
  const { logger } = deps;
  let url: string | undefined;
  const node = new FleetNode({
    ...cfg.etcd,
    node: cfg.node,
    host: cfg.host,
    logger,
    get url() {
      return url;
    },
  });
  // A peer on another host waits for its host's node at most three lease periods (its
  // lease expires after one; etcd and the watch may be late under load).
  const quiet = new RemoteQuiet(node, 3 * cfg.etcd.leaseTtlMs);
  const gate = withHostRule(createFleetGate(node), {
    self: cfg.node,
    selfHost: cfg.host,
    peerHost: (peer) => cfg.peerHosts[peer],
    ownerOn: (host) => node.membersOn(host)[0]?.node,
    quietOn: (host, peer) => quiet.reason(host, peer) !== undefined,
  });
  let publisher: ObservationPublisher | undefined;
  const fences = new Map<string, CommandSpec>();
  for (const h of cfg.hosts) if (h.fence) fences.set(h.name, h.fence);
  const commands = new CommandExecutor();
  const hosts = new HostWatch({
    fleet: node,
    hosts: [...new Set([...cfg.hosts.map((h) => h.name), ...Object.values(cfg.peerHosts)])],
    fences,
    runFence: (spec, target, signal) => commands.runSpec(spec, target, signal),
    emit: (e) => journal(e),
    everyMs: cfg.publishIntervalMs,
    graceMs: cfg.etcd.leaseTtlMs,
    logger,
  });

  function journal(e: HostEvent): void {
    const action: EscalationAction = {
      timestamp: new Date().toISOString(),
      peer_name: e.host,
      action: e.kind,
      reason: e.reason,
      severity: e.kind === "host_reachable" ? "INFO" : "CRITICAL",
      id: randomUUID(),
      incident_id: e.incident,
      node: cfg.node,
      ...(e.result ? { result: e.result } : {}),
    };
    const snapshot: PeerHealth = {
      name: e.host,
      endpoint: `host:${e.host}`,
      status: e.kind === "host_reachable" ? "HEALTHY" : "OFFLINE",
      last_seen: null,
      missed_count: 0,
      restart_count: 0,
      last_restart: null,
      response_time_ms: 0,
      last_error: e.kind === "host_reachable" ? null : e.reason,
      incident_id: e.incident,
      isolated_at: null,
      silenced_until: null,
      owner: cfg.node,
    };
    logger[e.kind === "host_reachable" ? "info" : "error"]({ host: e.host, incident: e.incident }, e.reason);
    try {
      deps.store.commit({ peer: `host:${e.host}`, actions: [action], snapshot, effects: [] });
    } catch (err) {
      logger.error({ host: e.host, err: String(err) }, "fleet: could not journal a host event");
    }
  }

  return {
    node,
    gate,
    claimer: fleetStepClaimer(node),
    async start(at, peers, registry) {
      url = at;
      if (registry) fleetMetrics(registry, node, hosts, quiet);
      await node.start();
      publisher = new ObservationPublisher(node, peers, cfg.publishIntervalMs, logger, (p, f) =>
        quiet.seen(p, f),
      );
      publisher.start();
      hosts.start();
    },
    async stop() {
      publisher?.stop();
      await hosts.stop();
      await node.stop();
    },
    status: () => ({ ...node.status(), hosts_unreachable: hosts.reported() }),
    sd: () => httpSdGroups(node.members()),
  };
}

function fleetMetrics(registry: Registry, node: FleetNode, hosts: HostWatch, quiet: RemoteQuiet): void {
  new Gauge({
    name: "wdmesh_fleet_etcd_up",
    help: "1 while this node holds a valid etcd lease (coordinated steps allowed), 0 while etcd is unreachable or without quorum (steps held).",
    registers: [registry],
    collect() {
      this.set(node.leaseValid() ? 1 : 0);
    },
  });
  new Gauge({
    name: "wdmesh_fleet_members",
    help: "Live nodes of the fleet (member keys with a live lease), as this node's watch sees them.",
    registers: [registry],
    collect() {
      this.set(node.members().length);
    },
  });
  new Gauge({
    name: "wdmesh_fleet_peer_quiet",
    help: "1 for each peer on another host whose misses this node keeps quiet because they are paged elsewhere (its host is unreachable, or its host's node pages it).",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const peer of quiet.quietPeers()) this.set({ peer }, 1);
    },
  });
  new Gauge({
    name: "wdmesh_fleet_hosts_unreachable",
    help: "Hosts this node reports unreachable now (it holds their down key).",
    registers: [registry],
    collect() {
      this.set(hosts.reported().length);
    },
  });
}
