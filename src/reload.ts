// Applying a new configuration to a running node (SIGHUP, `systemctl reload`,
// POST /v1/reload). The file was validated first: an invalid one changes nothing.
// Peers and alert sinks are added, removed and changed in place; whatever stays keeps
// its state, counters, incident and pending alerts. Settings the node cannot change
// while it runs (its address, data directory, tokens, mesh) are left as they were and
// named in the summary as needing a restart. A removed sink's pending alerts are
// dead-lettered with that reason. The reload is journaled as `config_reloaded`.
import { randomUUID } from "node:crypto";
import type { Alerting } from "./alert/dispatcher.js";
import type { Metrics } from "./api/metrics.js";
import type { ResolvedConfig } from "./config/resolve.js";
import { iso } from "./core/duration.js";
import { initialState } from "./core/ladder.js";
import type { EscalationAction } from "./core/types.js";
import type { Logger } from "./core/logger.js";
import type { Monitor } from "./monitor.js";
import { toPeerHealth } from "./core/peer-health.js";
import type { SqliteStore } from "./store/sqlite-store.js";
import type { Discovery } from "./discovery/start.js";
import { discoveryReloadProblems } from "./discovery/reload-checks.js";

export interface ReloadSummary {
  peers: { added: string[]; removed: string[]; changed: string[] };
  sinks: { added: string[]; removed: string[]; changed: string[] };
  /** Settings changed in the file that take effect only after a restart (left as they were). */
  restart_needed: string[];
  /** Pending alerts of removed sinks that were dead-lettered. */
  dead_lettered: number;
  /** True when `peers_from` changed and discovery was restarted with the new settings. */
  peers_from_changed?: boolean;
}

/** The parts of a running node a reload changes. */
export interface ReloadTarget {
  monitor: Monitor;
  store: SqliteStore;
  alerting: Alerting;
  metrics: Metrics;
  logger: Logger;
  /** The running discovery (`peers_from`), swapped when a reload changes it. */
  discovery?: Pick<Discovery, "reconfigure">;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function diffNamed<T extends { name: string }>(
  before: readonly T[],
  after: readonly T[],
): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map(before.map((x) => [x.name, x]));
  const next = new Map(after.map((x) => [x.name, x]));
  return {
    added: after.filter((x) => !old.has(x.name)).map((x) => x.name),
    removed: before.filter((x) => !next.has(x.name)).map((x) => x.name),
    changed: after.filter((x) => old.has(x.name) && !same(old.get(x.name), x)).map((x) => x.name),
  };
}

/** What differs between two valid configs, by name; secrets never appear. */
export function diffConfig(
  before: ResolvedConfig,
  after: ResolvedConfig,
): Omit<ReloadSummary, "dead_lettered"> {
  const restart: string[] = [];
  const node: Array<[string, unknown, unknown]> = [
    ["node.name", before.node.name, after.node.name],
    ["node.listen", before.node.listen, after.node.listen],
    ["node.data_dir", before.node.dataDir, after.node.dataDir],
    ["node.api_token", before.node.apiToken, after.node.apiToken],
    ["node.read_token", before.node.readToken, after.node.readToken],
    ["node.public_reads", before.node.publicReads, after.node.publicReads],
    ["node.hostnames", before.node.hostnames, after.node.hostnames],
    ["node.max_connections", before.node.maxConnections, after.node.maxConnections],
    ["node.identity", before.node.identity, after.node.identity],
    ["defaults.concurrency", before.monitor.concurrency, after.monitor.concurrency],
    ["storm", before.monitor.storm, after.monitor.storm],
    ["mesh", before.mesh, after.mesh],
    // The node's own health thresholds are read once, when it starts.
    ["self_health", before.monitor.selfHealth, after.monitor.selfHealth],
  ];
  for (const [field, a, b] of node) if (!same(a, b)) restart.push(field);
  // Mesh members are watched with the defaults' timing: a change there waits for a restart too.
  if (
    after.mesh !== null &&
    !same(before.monitor, after.monitor) &&
    !restart.includes("defaults.concurrency")
  ) {
    restart.push("defaults (timing of mesh members)");
  }
  return {
    peers: diffNamed(before.peers, after.peers),
    sinks: diffNamed(before.alerts, after.alerts),
    restart_needed: restart,
  };
}

/**
 * Why `next` cannot be applied over the running node although the file is valid, one
 * problem per peer: an ISOLATED peer cannot be removed (its unit stays cut and nothing
 * would watch it or be able to release it); release it first, or keep it in the file.
 * Where the node and its peers run (node.host, peers[].host) is read once, at start (the
 * host rule and the fleet act on it): a reload that moves a peer, or adds one, to another
 * host than it had would have this node restart what runs elsewhere, so it is refused.
 */
export function reloadProblems(
  monitor: Pick<Monitor, "getPeerStatus"> & Partial<Pick<Monitor, "allPeers">>,
  current: ResolvedConfig,
  next: ResolvedConfig,
): Array<{ path: string; message: string }> {
  const kept = new Set(next.peers.map((p) => p.name));
  const isolated = current.peers
    .filter((p) => !kept.has(p.name) && monitor.getPeerStatus(p.name)?.status === "ISOLATED")
    .map((p) => ({
      path: `peers.${p.name}`,
      message: `peer "${p.name}" is ISOLATED and cannot be removed by a reload (its isolation would stay in force with nothing to release it): release it first (wdmesh release ${p.name}), then remove it`,
    }));
  const restart = "; where the node and its peers run is read at start: restart the node to apply it";
  const moved: Array<{ path: string; message: string }> = [];
  if (next.fleet.host !== current.fleet.host) {
    moved.push({
      path: "node.host",
      message: `node.host changed (${current.fleet.host} → ${next.fleet.host})${restart}`,
    });
  }
  const hostOf = (c: ResolvedConfig, peer: string): string => c.fleet.peerHosts[peer] ?? current.fleet.host;
  const before = new Set(current.peers.map((p) => p.name));
  for (const p of next.peers) {
    const was = before.has(p.name) ? hostOf(current, p.name) : current.fleet.host;
    const now = hostOf(next, p.name);
    if (now === was) continue;
    moved.push({
      path: `peers.${p.name}.host`,
      message: before.has(p.name)
        ? `peer "${p.name}" moved from host ${was} to ${now}${restart}`
        : `new peer "${p.name}" runs on another host (${now})${restart}`,
    });
  }
  // Peers found by peers_from (containers): a name taken, an isolated one a new selection may drop.
  const discovery = monitor.allPeers ? discoveryReloadProblems(monitor.allPeers(), current, next) : [];
  return [...isolated, ...moved, ...discovery];
}

/**
 * Journals a refused reload as `config_reload_failed` (HIGH: it is alerted), every problem
 * in its reason. Nothing else changed. Throws what the store throws.
 */
export function commitReloadFailure(
  store: Pick<SqliteStore, "commit">,
  node: string,
  problems: ReadonlyArray<{ path: string; message: string }>,
): void {
  const list = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
  const action: EscalationAction = {
    timestamp: iso(Date.now()) as string,
    peer_name: node,
    action: "config_reload_failed",
    reason: `configuration reload refused, nothing changed (${problems.length} problem${problems.length === 1 ? "" : "s"}): ${list}`,
    severity: "HIGH",
    id: randomUUID(),
    incident_id: null,
    node,
  };
  store.commit({
    peer: node,
    actions: [action],
    snapshot: toPeerHealth(node, "self", initialState(), node),
    effects: [],
  });
}

/** True when a reload changed nothing at all (nothing applied, nothing to restart for). */
function unchanged(s: ReloadSummary): boolean {
  const none = (d: { added: string[]; removed: string[]; changed: string[] }): boolean =>
    d.added.length + d.removed.length + d.changed.length === 0;
  return (
    none(s.peers) &&
    none(s.sinks) &&
    s.restart_needed.length === 0 &&
    s.dead_lettered === 0 &&
    !s.peers_from_changed
  );
}

function describe(s: ReloadSummary): string {
  const part = (what: string, d: { added: string[]; removed: string[]; changed: string[] }): string[] => [
    ...(d.added.length ? [`${what} added: ${d.added.join(", ")}`] : []),
    ...(d.removed.length ? [`${what} removed: ${d.removed.join(", ")}`] : []),
    ...(d.changed.length ? [`${what} changed: ${d.changed.join(", ")}`] : []),
  ];
  const parts = [
    ...part("peers", s.peers),
    ...part("sinks", s.sinks),
    ...(s.peers_from_changed ? ["peers_from changed: discovery restarted with the new settings"] : []),
    ...(s.dead_lettered ? [`${s.dead_lettered} pending alerts of removed sinks dead-lettered`] : []),
    ...(s.restart_needed.length ? [`needs a restart to apply: ${s.restart_needed.join(", ")}`] : []),
  ];
  return `configuration reloaded: ${parts.length ? parts.join("; ") : "nothing changed"}`;
}

/**
 * Applies `next` (a valid config) over `current`. Returns the summary and the config now
 * in force (`next`, except the settings that need a restart, which keep their old values).
 */
export async function applyConfig(
  t: ReloadTarget,
  current: ResolvedConfig,
  next: ResolvedConfig,
): Promise<{ summary: ReloadSummary; config: ResolvedConfig }> {
  const d = diffConfig(current, next);
  const peer = new Map(next.peers.map((p) => [p.name, p]));
  for (const name of d.peers.removed) await t.monitor.removePeer(name);
  for (const name of d.peers.changed) t.monitor.updatePeer(peer.get(name) as ResolvedConfig["peers"][number]);
  for (const name of d.peers.added) t.monitor.registerPeer(peer.get(name) as ResolvedConfig["peers"][number]);

  t.store.setSinks(next.alerts.map((s) => ({ name: s.name, minSeverity: s.minSeverity })));
  await t.alerting.setSinks(next.alerts);
  let dead = 0;
  for (const sink of d.sinks.removed) {
    dead += t.store.deadLetterSink(sink, `sink "${sink}" was removed from the configuration by a reload`);
  }
  for (const sink of d.sinks.added) t.metrics.addSink(sink);
  // After the configured peers: a name a configured peer gave up is free for a container.
  const disc = t.discovery ? await t.discovery.reconfigure(next) : { changed: false };

  const summary: ReloadSummary = {
    ...d,
    dead_lettered: dead,
    ...(disc.changed ? { peers_from_changed: true } : {}),
  };
  const node = current.node.name;
  const config: ResolvedConfig = {
    ...current,
    peers: next.peers,
    alerts: next.alerts,
    secrets: next.secrets,
    peersFrom: next.peersFrom,
  };
  if (unchanged(summary)) {
    // A no-op (the same file again, a burst of SIGHUPs): logged, nothing journaled or alerted.
    t.logger.info({ ...summary }, describe(summary));
    return { summary, config };
  }
  const action: EscalationAction = {
    timestamp: iso(Date.now()) as string,
    peer_name: node,
    action: "config_reloaded",
    reason: describe(summary),
    severity: "INFO",
    id: randomUUID(),
    incident_id: null,
    node,
  };
  t.store.commit({
    peer: node,
    actions: [action],
    snapshot: toPeerHealth(node, "self", initialState(), node),
    effects: [],
  });
  t.logger.info({ ...summary }, action.reason);
  return { summary, config };
}
