// Jepsen-style schedules for the step ledger: from a seed, the same faults at the same
// moments every time (replayable): the agent failing (503) or hanging (no answer) until a
// restart heals it, nodes SIGKILLed (and back within 0.1-1.5 s, as Restart=always brings
// them) or SIGSTOPped (and continued 0.3-5 s later), at random moments or right after a
// node logs the start of a restart; and the network between the hosts (each node and the
// agent a network namespace): a node cut off from both others (symmetric partition),
// one direction of a link dropped (one-way), a node cut off from the agent, a link
// flapping. Pure: no I/O.
import { rng } from "../helpers/rng.js";

export type NodeKind = "daemon" | "embedded";

/** A lab host: a node by index, or the agent. */
export type Endpoint = number | "agent";

export type Fault =
  | { at: number; kind: "agent-fail" | "agent-hang" }
  | { at: number; kind: "node-kill"; node: number; downMs: number }
  | { at: number; kind: "node-stop"; node: number; stopMs: number }
  /** Armed at `at`: the node that logs the next restart start is killed at once. */
  | { at: number; kind: "kill-after-start"; downMs: number }
  /** Armed at `at`: the node that logs the next restart start is stopped at once. */
  | { at: number; kind: "stop-after-start"; stopMs: number }
  /** `node` cut off from every other node (both ways) for `ms`; it still reaches the agent. */
  | { at: number; kind: "partition"; node: number; ms: number }
  /** What `from` sends to `to` dropped for `ms` (the other direction passes). */
  | { at: number; kind: "one-way"; from: Endpoint; to: Endpoint; ms: number }
  /** The link a-b cut and healed `count` times, each state lasting `periodMs`. */
  | { at: number; kind: "flap"; a: Endpoint; b: Endpoint; periodMs: number; count: number };

export interface Schedule {
  seed: number;
  kinds: NodeKind[];
  /** How long the restart command runs, s. */
  restartS: number;
  /** Faults, by time since the mesh settled (ms), in order. */
  faults: Fault[];
  /** When faults stop being injected (ms); every node is up and running after it. */
  faultsMs: number;
}

export const NODE_COUNT = 3;
export const FAULTS_MS = 12_000;

export function makeSchedule(seed: number): Schedule {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const node = () => int(0, NODE_COUNT - 1);
  /** Two different hosts; the agent is one of them a quarter of the time. */
  const pair = (): [Endpoint, Endpoint] => {
    const a = node();
    const b = r() < 0.25 ? "agent" : (a + int(1, NODE_COUNT - 1)) % NODE_COUNT;
    return r() < 0.5 ? [a, b] : [b, a];
  };
  const kinds = Array.from({ length: NODE_COUNT }, (): NodeKind => (r() < 0.5 ? "daemon" : "embedded"));
  const faults: Fault[] = [{ at: int(0, 1_000), kind: r() < 0.7 ? "agent-fail" : "agent-hang" }];
  const n = int(3, 7);
  for (let i = 0; i < n; i++) {
    const at = int(0, FAULTS_MS - 1_000);
    const x = r();
    if (x < 0.12) faults.push({ at, kind: r() < 0.7 ? "agent-fail" : "agent-hang" });
    else if (x < 0.24) faults.push({ at, kind: "node-kill", node: node(), downMs: int(100, 1_500) });
    else if (x < 0.36) faults.push({ at, kind: "node-stop", node: node(), stopMs: int(300, 5_000) });
    else if (x < 0.48) faults.push({ at, kind: "kill-after-start", downMs: int(100, 1_500) });
    else if (x < 0.58) faults.push({ at, kind: "stop-after-start", stopMs: int(300, 5_000) });
    else if (x < 0.72) faults.push({ at, kind: "partition", node: node(), ms: int(1_000, 6_000) });
    else if (x < 0.86) {
      const [from, to] = pair();
      faults.push({ at, kind: "one-way", from, to, ms: int(1_000, 6_000) });
    } else {
      const [a, b] = pair();
      faults.push({ at, kind: "flap", a, b, periodMs: int(200, 1_000), count: int(3, 8) });
    }
  }
  faults.sort((a, b) => a.at - b.at);
  return { seed, kinds, restartS: [0.5, 1, 2, 3][int(0, 3)] as number, faults, faultsMs: FAULTS_MS };
}
