// The remediation gate of a fleet coordinated by etcd. For a miss of a peer on this
// node's host (the host rule is applied around it, host-rule.ts):
//   - etcd unreachable or without quorum (no valid lease here): hold, naming etcd;
//   - fewer than a majority of the live nodes watching the peer see it failing (from the
//     observation keys, kept current by the watch): hold, naming who confirms;
//   - another live node holds the peer's step key: observe (that node acts);
//   - else act (the step key is then taken before the host's ledger, step-claimer.ts).
// This node's own view is published to etcd on change only (ObservationPublisher).
import type { GateVerdict, RemediationGate } from "../core/gate.js";
import type { Logger } from "../core/logger.js";
import type { PeerHealth, PeerStatus } from "../core/types.js";
import type { FleetNode } from "./fleet-node.js";

const FAILING_STATUSES = new Set(["DEGRADED", "OFFLINE", "ISOLATED"]);

function failing(p: { status: string; missed_count: number }): boolean {
  return FAILING_STATUSES.has(p.status) || p.missed_count > 0;
}

/** The fleet's quorum on `peer`: this node (which just saw a miss) plus the live observers. */
export function fleetQuorum(
  self: string,
  obs: { failing: string[]; ok: string[] },
): { confirming: string[]; observers: number; need: number } {
  const confirming = [...new Set([self, ...obs.failing])].sort();
  const observers = new Set([self, ...obs.failing, ...obs.ok]).size;
  return { confirming, observers, need: Math.floor(observers / 2) + 1 };
}

export function createFleetGate(fleet: FleetNode): RemediationGate {
  return {
    mayAct(peer: string): GateVerdict {
      fleet.observe(peer, true);
      const held = fleet.holdReason();
      if (held) return { act: false, hold: held };
      const q = fleetQuorum(fleet.self, fleet.observations(peer));
      if (q.confirming.length < q.need) {
        return {
          act: false,
          hold: `fleet quorum not reached: ${q.confirming.length} of ${q.observers} nodes watching ${peer} see it failing (${q.confirming.join(", ")}), ${q.need} needed`,
        };
      }
      const step = fleet.stepOn(peer);
      if (step && !step.mine) return { act: false };
      return { act: true };
    },
    owner(peer: string, _seen?: { status: PeerStatus; missed_count: number }): string {
      const step = fleet.stepOn(peer);
      return step && !step.mine ? step.node : fleet.self;
    },
  };
}

/**
 * Publishes this node's view of every peer to etcd when it changes: a local comparison
 * every `everyMs`, a write only on a change (none in steady state).
 */
export class ObservationPublisher {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly fleet: FleetNode,
    private readonly peers: () => PeerHealth[],
    private readonly everyMs: number,
    private readonly logger: Logger,
    /** Called with this node's view of each peer on every pass. */
    private readonly onView?: (peer: string, failing: boolean) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.once(), this.everyMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  once(): void {
    try {
      for (const p of this.peers()) {
        if (p.status === "UNKNOWN") continue;
        const f = failing(p);
        this.fleet.observe(p.name, f);
        this.onView?.(p.name, f);
      }
    } catch (err) {
      this.logger.warn({ err: String(err) }, "fleet: could not read the peers' health to publish");
    }
  }
}
