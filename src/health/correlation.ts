// What the Monitor sees across its peers rather than peer by peer: the storm guard (many
// peers failing at once → hold everything, one correlated_failure), node_blind (most
// checks inconclusive → one HIGH per episode) and dependencies (a dependent's failures
// join its failing root's incident). The rules are pure (core/storm.ts,
// core/dependencies.ts, health/blindness.ts); this keeps their state and builds the
// node-level journal entries the Monitor commits and notifies.
import { iso } from "../core/duration.js";
import { dependentsOf, failingRoot, isFailingStatus, type DependencyGraph } from "../core/dependencies.js";
import { initialState, type LadderState } from "../core/ladder.js";
import type { PeerSpec } from "../core/options.js";
import {
  sharedByFailing,
  stormReached,
  stormReason,
  stormVerdict,
  type StormPeer,
  type StormPolicy,
} from "../core/storm.js";
import type { ActionKind, EscalationAction, PeerHealth, ProbeCause, Severity } from "../core/types.js";
import { Blindness } from "./blindness.js";
import { toPeerHealth } from "../core/peer-health.js";

/**
 * One probe's verdict as the storm guard and node_blind see it: a miss counts for a storm,
 * an inconclusive check for blindness; grace (a peer still starting) for neither.
 */
export type ProbeVerdict = "ok" | "miss" | "inconclusive" | "grace";

/** The verdict of a probe that was `ok`, or else inconclusive with `cause` (undefined: a miss). */
export function probeVerdict(ok: boolean, cause: ProbeCause | undefined): ProbeVerdict {
  if (ok) return "ok";
  if (cause === undefined) return "miss";
  return cause.kind === "grace" ? "grace" : "inconclusive";
}

/** A peer as the guards read it. */
export interface CorrelatedPeer {
  spec: PeerSpec;
  state: LadderState;
  endpoint: string;
  target: { host?: string; port?: number };
}

/** A node-level journal entry: the action and the node's own snapshot. */
export interface NodeEntry {
  action: EscalationAction;
  snapshot: PeerHealth;
}

export interface CorrelationOptions {
  selfName: string;
  /** Storm thresholds, or null when the guard is off. */
  storm: StormPolicy | null;
  /** The storm window: one probe cycle (interval + timeout), ms. */
  windowMs: number;
  newId: () => string;
}

export class Correlation {
  /** Each failing peer's latest miss (epoch ms), until it answers again or is older than the window; oldest first. */
  private readonly lastMissAt = new Map<string, number>();
  private stormIncident: string | null = null;
  private stormPeers: string[] = [];
  /** Since when (epoch ms) the storm's thresholds are no longer met; it ends after a calm window. */
  private calmSince: number | null = null;
  private readonly blindness = new Blindness();
  private blindIncident: string | null = null;
  private graph: Map<string, readonly string[]> | null = null;
  private remediableCount: number | null = null;

  constructor(private readonly o: CorrelationOptions) {}

  /** True while a storm is on: every restart and isolation is held. */
  get storm(): boolean {
    return this.stormIncident !== null;
  }

  /** A peer was registered, updated or removed: the dependency graph is rebuilt on next use. */
  peersChanged(removed?: string): void {
    this.graph = null;
    this.remediableCount = null;
    if (removed !== undefined) this.lastMissAt.delete(removed);
  }

  /**
   * Records one probe verdict of `name` at `now`. Returns the node-level entries to
   * journal (storm and blindness episodes starting or ending) and whether a storm just
   * ended (then every peer's counters start afresh). A miss of a peer `settled` (already
   * ISOLATED, or silenced) is no sign of a new shared cause: it does not count for a storm.
   */
  observe(
    name: string,
    verdict: ProbeVerdict,
    now: number,
    peers: ReadonlyMap<string, CorrelatedPeer>,
    settled = false,
  ): { entries: NodeEntry[]; stormEnded: boolean } {
    const entries: NodeEntry[] = [];
    if (verdict === "ok" || settled) this.lastMissAt.delete(name);
    else if (verdict === "miss") {
      // Set anew, so the map stays in the order of the latest misses (see failingNow).
      this.lastMissAt.delete(name);
      this.lastMissAt.set(name, now);
    }
    let stormEnded = false;
    if (this.o.storm) {
      // Every probe counts the failing peers (amortised O(1)); the exact verdict, which
      // lists and sorts them, is taken only when a storm may start.
      const watched = this.remediable(peers);
      const failing = this.failingNow(now);
      let storm = stormReached(failing, watched, this.o.storm);
      const v =
        storm && this.stormIncident === null
          ? stormVerdict(this.lastMissAt, watched, now, this.o.windowMs, this.o.storm)
          : null;
      if (v !== null) storm = v.storm;
      if (storm) this.calmSince = null;
      else if (this.stormIncident !== null) this.calmSince ??= now;
      if (v !== null && v.storm && this.stormIncident === null) {
        this.stormIncident = this.o.newId();
        this.stormPeers = v.failing;
        const described = v.failing.flatMap((n) => {
          const p = peers.get(n);
          return p ? [stormPeer(n, p)] : [];
        });
        const reason = stormReason(v, sharedByFailing(described), this.o.windowMs, this.o.storm);
        entries.push(this.entry("correlated_failure", "CRITICAL", reason, this.stormIncident, now, reason));
      } else if (
        !storm &&
        this.stormIncident !== null &&
        this.calmSince !== null &&
        now - this.calmSince >= this.o.windowMs
      ) {
        const reason =
          `${failing} of ${watched} watched peers fail now (${this.stormPeers.length} did); ` +
          "per-peer remediation resumes with fresh counters";
        entries.push(this.entry("correlated_failure_cleared", "INFO", reason, this.stormIncident, now, null));
        this.stormIncident = null;
        this.stormPeers = [];
        this.calmSince = null;
        stormEnded = true;
      }
    }
    this.blindness.record(verdict === "inconclusive", now);
    const { report, changed } = this.blindness.evaluate(now);
    if (changed === "entered") {
      this.blindIncident = this.o.newId();
      const reason =
        `${report.inconclusive} of this node's last ${report.checks} checks (${report.window_ms / 1_000} s) were inconclusive: ` +
        "it cannot see its peers fail (see each peer's last_error for why: descriptors, memory, stalls)";
      entries.push(this.entry("node_blind", "HIGH", reason, this.blindIncident, now, reason));
    } else if (changed === "left") {
      const reason = `this node sees again: ${report.inconclusive} of its last ${report.checks} checks were inconclusive`;
      entries.push(this.entry("node_blind_cleared", "INFO", reason, this.blindIncident, now, null));
      this.blindIncident = null;
    }
    return { entries, stormEnded };
  }

  /**
   * How many peers missed within the window: the misses older than it are dropped from the
   * front of lastMissAt (kept in the order of the latest misses). After a backward step of
   * the clock it can count more than failed within the window, never fewer: a storm is
   * confirmed by the exact verdict before it starts, and may end a window late.
   */
  private failingNow(now: number): number {
    for (const [name, at] of this.lastMissAt) {
      if (now - at <= this.o.windowMs) break;
      this.lastMissAt.delete(name);
    }
    return this.lastMissAt.size;
  }

  /** The peers the storm guard watches: every one that can be remediated (not the alert-only mesh members). */
  private remediable(peers: ReadonlyMap<string, CorrelatedPeer>): number {
    if (this.remediableCount === null) {
      let n = 0;
      for (const p of peers.values()) if (p.spec.alertOnly !== true) n++;
      this.remediableCount = n;
    }
    return this.remediableCount;
  }

  /** Who depends on whom, from the registered peers' dependsOn. */
  private dependencies(peers: ReadonlyMap<string, CorrelatedPeer>): DependencyGraph {
    if (this.graph === null) {
      const g = new Map<string, readonly string[]>();
      for (const [n, p] of peers)
        if (p.spec.dependsOn && p.spec.dependsOn.length > 0) g.set(n, p.spec.dependsOn);
      this.graph = g;
    }
    return this.graph;
  }

  /** The failing dependency `name`'s failures are put down to, or null. */
  rootOf(name: string, peers: ReadonlyMap<string, CorrelatedPeer>): string | null {
    const g = this.dependencies(peers);
    if (g.size === 0) return null;
    return failingRoot(name, g, (n) => {
      const p = peers.get(n);
      return p !== undefined && isFailingStatus(p.state.status);
    });
  }

  /** Every registered peer that depends on `name`, directly or further up. */
  dependentsOf(name: string, peers: ReadonlyMap<string, CorrelatedPeer>): string[] {
    const g = this.dependencies(peers);
    return g.size === 0 ? [] : dependentsOf(name, g);
  }

  /** The dependency_failing entry of `name` joining `root`'s incident. */
  joinEntry(
    name: string,
    root: string,
    rootState: LadderState,
    error: string,
    now: number,
  ): EscalationAction {
    return {
      timestamp: iso(now) as string,
      peer_name: name,
      action: "dependency_failing",
      reason:
        `peer ${name} fails (${error}) while its dependency ${root} is ${rootState.status}: ` +
        `it joins ${root}'s incident and is not remediated on its own until ${root} recovers`,
      severity: "INFO",
      id: this.o.newId(),
      incident_id: rootState.incidentId,
      node: this.o.selfName,
    };
  }

  private entry(
    kind: ActionKind,
    severity: Severity,
    reason: string,
    incident: string | null,
    now: number,
    lastError: string | null,
  ): NodeEntry {
    const action: EscalationAction = {
      timestamp: iso(now) as string,
      peer_name: this.o.selfName,
      action: kind,
      reason,
      severity,
      id: this.o.newId(),
      incident_id: incident,
      node: this.o.selfName,
    };
    const snapshot: PeerHealth = {
      ...toPeerHealth(this.o.selfName, "self", initialState(), this.o.selfName),
      status: lastError === null ? "HEALTHY" : "DEGRADED",
      last_error: lastError,
    };
    return { action, snapshot };
  }
}

/** How the storm guard describes a failing peer: where it is probed, by what, and what it depends on. */
function stormPeer(name: string, p: CorrelatedPeer): StormPeer {
  const out: StormPeer = { name };
  if (p.target.host !== undefined && p.target.port !== undefined)
    out.hostPort = `${p.target.host}:${p.target.port}`;
  const probe = p.spec.probe;
  if ("exec" in probe) out.check = `exec ${probe.exec.argv.join(" ")}`;
  if (p.spec.dependsOn && p.spec.dependsOn.length > 0) out.dependsOn = p.spec.dependsOn;
  return out;
}
