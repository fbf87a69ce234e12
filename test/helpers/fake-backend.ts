// An in-memory ApiBackend for API and CLI tests: a few peers, a hash-chained journal
// built with the store's own link function, an outbox, and hooks to make it throw.
import type { PeerBeat, ProbeBeat } from "../../src/api/probe-history.js";
import { WatchdogError } from "../../src/core/errors.js";
import type { EscalationAction, PeerHealth, PeerStatus } from "../../src/core/types.js";
import type { AlertTestResult, ApiBackend, DeliveryFilter, MeshView } from "../../src/api/backend.js";
import { canonicalEntry, GENESIS_HASH, linkHash } from "../../src/store/journal.js";
import type { JournalEntry, OutboxRow } from "../../src/store/types.js";
import { heartbeatProof } from "../../src/probe/heartbeat-proof.js";

export function peer(name: string, status: PeerStatus, extra: Partial<PeerHealth> = {}): PeerHealth {
  const seen = status !== "UNKNOWN";
  return {
    name,
    endpoint: `http://127.0.0.1:9/${name}/health`,
    status,
    last_seen: seen ? new Date(Date.now() - 5_000).toISOString() : null,
    missed_count: status === "DEGRADED" ? 1 : 0,
    restart_count: status === "OFFLINE" ? 1 : 0,
    last_restart: null,
    response_time_ms: seen ? 12 : 0,
    last_error: status === "HEALTHY" || !seen ? null : "connection refused",
    incident_id: null,
    isolated_at: status === "ISOLATED" ? new Date().toISOString() : null,
    silenced_until: null,
    owner: "immune",
    ...extra,
  };
}

export interface FakeBackendOptions {
  node?: string;
  peers?: PeerHealth[];
  meshKey?: string;
  sinks?: string[];
}

export class FakeBackend implements ApiBackend {
  readonly node: string;
  readonly peers = new Map<string, PeerHealth>();
  readonly journal: JournalEntry[] = [];
  readonly outbox: OutboxRow[] = [];
  readonly calls: Array<{ op: string; name: string; by?: string; ms?: number }> = [];
  private readonly listeners = new Set<(e: JournalEntry) => void>();
  private readonly probeListeners = new Set<(b: PeerBeat) => void>();
  private readonly meshKey: string | undefined;
  private readonly sinks: string[];
  /** When set, every backend call throws it. */
  throwing: Error | undefined;
  metricsBody =
    '# HELP wdmesh_checks_total Probes completed, per peer.\n# TYPE wdmesh_checks_total counter\nwdmesh_checks_total{peer="a"} 1\n';

  constructor(opts: FakeBackendOptions = {}) {
    this.node = opts.node ?? "immune";
    for (const p of opts.peers ?? [peer("sidecar", "HEALTHY"), peer("shield", "HEALTHY")])
      this.peers.set(p.name, p);
    this.meshKey = opts.meshKey;
    this.sinks = opts.sinks ?? ["architect"];
  }

  /** Subscribers to probe results (the event stream's, while a client is open). */
  get probeListenerCount(): number {
    return this.probeListeners.size;
  }
  /** A probe result, as the daemon's probe history announces it. */
  emitProbe(b: PeerBeat): void {
    for (const l of this.probeListeners) l(b);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }

  private guard(): void {
    if (this.throwing) throw this.throwing;
  }

  private get(name: string): PeerHealth {
    const p = this.peers.get(name);
    if (!p) throw new WatchdogError("WDM_UNKNOWN_PEER", `unknown peer ${JSON.stringify(name)}`, name);
    return p;
  }

  /** Appends a journal entry (correctly chained) and notifies listeners. */
  append(
    action: Partial<EscalationAction> & { peer_name: string; action: EscalationAction["action"] },
  ): JournalEntry {
    const seq = this.journal.length + 1;
    const base: EscalationAction = {
      timestamp: new Date().toISOString(),
      reason: `${action.action} of ${action.peer_name}`,
      severity: "INFO",
      id: `act-${seq}`,
      incident_id: null,
      node: this.node,
      ...action,
    };
    const prev_hash = this.journal.at(-1)?.hash ?? GENESIS_HASH;
    const entry: JournalEntry = { ...base, seq, prev_hash, hash: linkHash(prev_hash, canonicalEntry(base)) };
    this.journal.push(entry);
    for (const l of this.listeners) l(entry);
    return entry;
  }

  mesh(): MeshView {
    this.guard();
    const peers = [...this.peers.values()].sort((a, b) => a.name.localeCompare(b.name));
    return {
      self: this.node,
      node: this.node,
      peers,
      stats: {
        total_checks: 10,
        total_misses: 2,
        total_restarts: 0,
        total_isolations: 0,
        inconclusive_checks: 0,
        started_at: new Date(Date.now() - 60_000).toISOString(),
        peer_count: peers.length,
      },
      members: [],
    };
  }
  /** Probe history: none recorded, for every known peer. */
  history(name: string): ProbeBeat[] | undefined {
    return this.peer(name) ? [] : undefined;
  }

  peer(name: string): PeerHealth | undefined {
    this.guard();
    return this.peers.get(name);
  }
  events(after: number, limit: number): JournalEntry[] {
    this.guard();
    return this.journal.filter((e) => e.seq > after).slice(0, limit);
  }
  onEvent(listener: (e: JournalEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onProbe(listener: (b: PeerBeat) => void): () => void {
    this.probeListeners.add(listener);
    return () => this.probeListeners.delete(listener);
  }
  async release(name: string, by: string): Promise<EscalationAction> {
    this.guard();
    const p = this.get(name);
    if (p.status !== "ISOLATED")
      throw new WatchdogError(
        "WDM_INVALID_STATE",
        `peer ${name} is ${p.status}, not ISOLATED; nothing to release`,
        name,
      );
    this.calls.push({ op: "release", name, by });
    this.peers.set(name, { ...p, status: "UNKNOWN", isolated_at: null, restart_count: 0, missed_count: 0 });
    return this.append({ peer_name: name, action: "release", reason: `released by ${by}` });
  }
  async restart(name: string, by: string): Promise<EscalationAction> {
    this.guard();
    this.get(name);
    this.calls.push({ op: "restart", name, by });
    return this.append({
      peer_name: name,
      action: "restart",
      severity: "HIGH",
      reason: `restart requested by ${by}`,
      result: { ok: true },
    });
  }
  async check(name: string): Promise<PeerHealth> {
    this.guard();
    const p = this.get(name);
    this.calls.push({ op: "check", name });
    return p;
  }
  silence(name: string, ms: number, by: string): PeerHealth {
    this.guard();
    const p = this.get(name);
    this.calls.push({ op: "silence", name, by, ms });
    const next = { ...p, silenced_until: new Date(Date.now() + ms).toISOString() };
    this.peers.set(name, next);
    return next;
  }
  deliveries(filter: DeliveryFilter): OutboxRow[] {
    this.guard();
    return this.outbox
      .filter(
        (r) =>
          (filter.state ? r.state === filter.state : true) && (filter.sink ? r.sink === filter.sink : true),
      )
      .slice(0, filter.limit ?? 100);
  }
  async alertsTest(sink: string): Promise<AlertTestResult | undefined> {
    this.guard();
    if (!this.sinks.includes(sink)) return undefined;
    this.calls.push({ op: "alertsTest", name: sink });
    return { sink, ok: true, status: 200, duration_ms: 3 };
  }
  healthProof(nonce: string): string | undefined {
    return this.meshKey === undefined ? undefined : heartbeatProof(this.meshKey, this.node, nonce);
  }
  async metricsText(): Promise<string> {
    this.guard();
    return this.metricsBody;
  }
}
