// The Monitor's options and the types of its public API (handlers, listeners, stats).
import type { Executor } from "./act/executor.js";
import type { RemediationGate } from "./core/gate.js";
import type { Policy, TimingOptions } from "./core/options.js";
import type { EscalationAction, ProbeResult } from "./core/types.js";
import type { LoopDelaySource } from "./health/loop-delay.js";
import type { SelfHealthOptions } from "./health/self-health.js";
import type { Logger } from "./core/logger.js";
import type { MeshOptions } from "./mesh/mesh-node.js";
import type { Prober } from "./probe/prober.js";
import type { Clock } from "./schedule/clock.js";
import type { LatenessSummary } from "./schedule/lateness.js";
import type { LedgerOptions } from "./ledger/sqlite-ledger.js";
import type { StepClaimer } from "./effects/runner.js";
import type { StormOptions } from "./core/storm.js";
import type { MonitorStore } from "./store/types.js";

export interface MonitorOptions extends TimingOptions {
  /** This node's name; stamped on every action. Required. */
  /**
   * The command that releases `peer`, named in the CRITICAL alert that isolates it
   * (the daemon adds --url when it is not on the default address). Default
   * `wdmesh release PEER`.
   */
  releaseCommand?: (peer: string) => string;
  selfName: string;
  /**
   * The timing defaults already compiled by compilePolicy (monitorOptionsFromConfig
   * gives one): used as it is instead of the timing keys, which must then be absent.
   */
  policy?: Policy;
  /** Max probes in flight at once (count). Default 256. */
  concurrency?: number;
  logger?: Logger;
  /** Time source (tests pass a fake). */
  clock?: Clock;
  /**
   * Carries out restart / isolate / release. Default: systemd (systemctl) and command
   * executors. Peers registered without a `restart`/`isolate` method (e.g. the seed
   * form) only emit their actions.
   */
  executor?: Executor;
  /** Durable state; without one, state lives in memory. */
  store?: MonitorStore;
  /** Probe implementation (tests pass a fake). Default: HTTP/TCP/exec/heartbeat prober. */
  prober?: Prober;
  /** Random in [0,1) for start jitter (tests pass a fixed one). */
  random?: () => number;
  /**
   * Mesh ownership and quorum as a custom hook; default: this node owns every peer.
   * Set by the `mesh` option; give one or the other.
   */
  gate?: RemediationGate;
  /**
   * A rule put in front of the gate (the mesh's, `gate`'s, or none): it receives that gate
   * and returns the one the Monitor asks. The daemon's host rule (a peer on another host is
   * only watched here) uses it.
   */
  wrapGate?: (gate: RemediationGate | undefined) => RemediationGate;
  /**
   * The host's step ledger (a SQLite file under an OS lock, shared by every node of the
   * host): every restart, isolation and release is taken there first, and one already
   * taken, still in flight, of an ended incident or decided on stale evidence is refused
   * (`step_fenced`). Default: on with the default executor (directory WDMESH_LEDGER_DIR,
   * else /run/wdmesh), off with an executor of your own unless given; `false` turns it off.
   */
  ledger?: LedgerOptions | false;
  /**
   * Claims each restart, isolation and release beyond this host before the ledger takes it
   * (the daemon's fleet on etcd): the claim's token is checked by the ledger (an older one
   * than it accepted for the peer is refused) and passed to the executor.
   */
  stepClaimer?: StepClaimer;
  /**
   * Storm guard: when at least `fraction` (default 0.5) of the watched peers, and at least
   * `minPeers` (default 3), fail within one probe cycle (interval + timeout), every restart and isolation is held
   * and one `correlated_failure` (CRITICAL) names them and what they share; per-peer
   * remediation resumes with fresh counters once fewer fail. `false` turns it off.
   */
  storm?: StormOptions | false;
  /**
   * Makes this node one node of a mesh (other agents embedding Monitor, or wdmesh
   * daemons): its members are watched as peers (authenticated heartbeats with a key),
   * their signed views are polled every `interval` (deadline `timeout`) once start()
   * is called, and a target is remediated by exactly one node, only after `confirm`
   * nodes see it fail. Serve `mesh.handler` or mount `mesh.routes` so the others can
   * reach this node. Default: no mesh.
   */
  mesh?: MeshOptions;
  /**
   * Bearer token (at least 16 characters) that `GET /v1/mesh` on `mesh.routes`/`mesh.handler`
   * requires (`Authorization: Bearer <token>`), compared in constant time; it also lets
   * its holder read `/v1/mesh/view`. Set it when the agent's server is reachable off
   * loopback: /v1/mesh lists every watched endpoint. Default: none (open, as the seed's
   * handler was). /health stays open.
   */
  readToken?: string;
  /**
   * Local health awareness: thresholds of this node's own event-loop delay and probe
   * lateness (see SelfHealthOptions for units and defaults). While they are exceeded
   * the node stretches its probe deadlines and holds remediation. `false` turns it off.
   */
  selfHealth?: SelfHealthOptions | false;
  /** Source of this node's event-loop delay (tests pass a fake). Default: a 50 ms timer-gap detector. */
  loopDelay?: LoopDelaySource;
}

export type EscalationHandler = (action: EscalationAction) => void | Promise<void>;
export type ProbeListener = (peer: string, result: ProbeResult, latenessMs: number) => void;

export interface SchedulerStats {
  in_flight: number;
  queued: number;
  lateness: LatenessSummary;
}
