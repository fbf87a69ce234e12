// What the Monitor sees across its peers rather than peer by peer: dependencies (a peer's
// miss joins the incident of a failing dependency, and a recovered dependency gives its
// dependents a fresh startup grace), the storm guard and node_blind (health/correlation.ts).
// It reads the Monitor's peers and reaches the rest through narrow callbacks.
import { randomUUID } from "node:crypto";
import { dependencyCycle, isFailingStatus } from "./core/dependencies.js";
import { InvalidOptionError } from "./core/errors.js";
import type { GateVerdict } from "./core/gate.js";
import { isSilenced, type LadderState } from "./core/ladder.js";
import type { Logger } from "./core/logger.js";
import type { PeerSpec } from "./core/options.js";
import { stormPolicy, stormProblem, type StormOptions } from "./core/storm.js";
import type { PeerHealth } from "./core/types.js";
import type { Clock } from "./schedule/clock.js";
import { Correlation, type NodeEntry, type ProbeVerdict } from "./health/correlation.js";
import type { Peer } from "./monitor-peer.js";

export interface AcrossPeersOptions {
  selfName: string;
  /** Storm thresholds; false turns the guard off. Checked here (InvalidOptionError). */
  storm: StormOptions | false | undefined;
  /** The storm window: one probe cycle (interval + timeout), ms. */
  windowMs: number;
  /** The Monitor's registered peers (read, and their counters reset on a storm's end or a grace). */
  peers: ReadonlyMap<string, Peer>;
  clock: Clock;
  logger: Logger;
  /** Saves a peer's state that is not an escalation step (counters reset). */
  saveState: (name: string, state: LadderState) => void;
  /** Commits and notifies a journal entry that is not a ladder step. */
  journalNode: (e: NodeEntry) => void;
  /** A peer's health as shown (the snapshot of a join entry). */
  health: (name: string, p: Peer) => PeerHealth;
  /** The gate's answer for a miss that nothing across peers quiets. */
  mayAct: (name: string) => GateVerdict;
  /** Schedules a peer's next probe at `at` (epoch ms) when the Monitor runs. */
  reschedule: (name: string, at: number) => void;
  /** Called on every change worth a new status version. */
  changed: () => void;
}

export class AcrossPeers {
  /** Storm guard, node_blind and dependencies: what is seen across peers. */
  private readonly correlation: Correlation;

  constructor(private readonly o: AcrossPeersOptions) {
    const stormBad = o.storm ? stormProblem(o.storm) : undefined;
    if (stormBad) throw new InvalidOptionError(`storm.${stormBad.field}`, stormBad.problem);
    this.correlation = new Correlation({
      selfName: o.selfName,
      storm: o.storm === false ? null : stormPolicy(o.storm),
      windowMs: o.windowMs,
      newId: randomUUID,
    });
  }

  /** A peer was registered, updated or removed (`removed` names the one that left). */
  peersChanged(removed?: string): void {
    this.correlation.peersChanged(removed);
  }

  /** The failing dependency a joined peer's miss belongs to, with its incident, or null. */
  rootCause(name: string, p: Peer): { peer: string; incident_id: string | null } | null {
    const root = p.joined ? this.correlation.rootOf(name, this.o.peers) : null;
    const rootPeer = root === null ? undefined : this.o.peers.get(root);
    return root !== null && rootPeer ? { peer: root, incident_id: rootPeer.state.incidentId } : null;
  }

  /** Refuses a dependsOn that would close a cycle among the registered peers. */
  checkDependencies(spec: PeerSpec): void {
    if (!spec.dependsOn || spec.dependsOn.length === 0) return;
    const graph = new Map<string, readonly string[]>();
    for (const [n, q] of this.o.peers) if (q.spec.dependsOn) graph.set(n, q.spec.dependsOn);
    graph.set(spec.name, spec.dependsOn);
    const cycle = dependencyCycle(graph);
    if (cycle) {
      throw new InvalidOptionError(
        `peers.${spec.name}.dependsOn`,
        `closes a cycle: ${cycle.join(" → ")}; a peer cannot depend on itself through others`,
      );
    }
  }

  /** Feeds one verdict to the storm guard and node_blind; journals their episodes. */
  observe(name: string, p: Peer, verdict: ProbeVerdict): void {
    const now = this.o.clock.now();
    // Peers that cannot be remediated (mesh members) or are settled say nothing of a new storm.
    const settled = p.spec.alertOnly === true || p.state.status === "ISOLATED" || isSilenced(p.state, now);
    const seen = this.correlation.observe(name, verdict, now, this.o.peers, settled);
    for (const e of seen.entries) this.o.journalNode(e);
    if (!seen.stormEnded) return;
    // Per-peer remediation resumes from fresh counters: misses seen during the storm do not count.
    for (const [n, q] of this.o.peers) {
      if (q.state.missed === 0 && q.state.held !== true) continue;
      q.state = { ...q.state, missed: 0, held: false };
      this.o.saveState(n, q.state);
    }
    this.o.changed();
  }

  /**
   * Whether a miss may be acted on: not while a dependency fails (the miss joins its
   * incident) or a storm is on (observed only; correlated_failure said it once), else the gate.
   */
  missVerdict(name: string, p: Peer, error: string): GateVerdict & { quiet?: boolean } {
    const root = this.correlation.rootOf(name, this.o.peers);
    const rootPeer = root === null ? undefined : this.o.peers.get(root);
    if (root !== null && rootPeer) {
      if (p.joined !== root) {
        p.joined = root;
        const action = this.correlation.joinEntry(name, root, rootPeer.state, error, this.o.clock.now());
        this.o.journalNode({ action, snapshot: this.o.health(name, p) });
      }
      return { act: false, quiet: true };
    }
    p.joined = null;
    // A storm holds steps: an alert-only peer (a mesh member) has none, and its alert is no step.
    if (this.correlation.storm && p.spec.alertOnly !== true) return { act: false, quiet: true };
    return this.o.mayAct(name);
  }

  /** `root` recovered: each peer depending on it starts afresh after its startup grace. */
  graceDependents(root: string): void {
    const now = this.o.clock.now();
    for (const d of this.correlation.dependentsOf(root, this.o.peers)) {
      const q = this.o.peers.get(d);
      // A dependent that kept answering needs no grace.
      if (!q || (!q.joined && q.state.missed === 0 && !isFailingStatus(q.state.status))) continue;
      q.joined = null;
      q.state = { ...q.state, missed: 0, held: false };
      q.notBefore = Math.max(q.notBefore, now + q.policy.startupGraceMs);
      this.o.saveState(d, q.state);
      this.o.reschedule(d, q.notBefore);
      this.o.logger.info(
        { peer: d, dependency: root, grace_ms: q.policy.startupGraceMs },
        "dependency recovered; fresh startup grace before misses count",
      );
    }
  }
}
