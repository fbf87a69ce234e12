// Jepsen-style schedules for the step ledger: from a seed, the same faults at the same
// moments every time (replayable): the agent failing (503) or hanging (no answer) until a
// restart heals it, nodes SIGKILLed (and back within 0.1-1.5 s, as Restart=always brings
// them) or SIGSTOPped (and continued 0.3-5 s later), at random moments or right after a
// node logs the start of a restart. Pure: no I/O.
import { rng } from "../helpers/rng.js";

export type NodeKind = "daemon" | "embedded";

export type Fault =
  | { at: number; kind: "agent-fail" | "agent-hang" }
  | { at: number; kind: "node-kill"; node: number; downMs: number }
  | { at: number; kind: "node-stop"; node: number; stopMs: number }
  /** Armed at `at`: the node that logs the next restart start is killed at once. */
  | { at: number; kind: "kill-after-start"; downMs: number }
  /** Armed at `at`: the node that logs the next restart start is stopped at once. */
  | { at: number; kind: "stop-after-start"; stopMs: number };

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
  const kinds = Array.from({ length: NODE_COUNT }, (): NodeKind => (r() < 0.5 ? "daemon" : "embedded"));
  const faults: Fault[] = [{ at: int(0, 1_000), kind: r() < 0.7 ? "agent-fail" : "agent-hang" }];
  const n = int(3, 6);
  for (let i = 0; i < n; i++) {
    const at = int(0, FAULTS_MS - 1_000);
    const x = r();
    if (x < 0.2) faults.push({ at, kind: r() < 0.7 ? "agent-fail" : "agent-hang" });
    else if (x < 0.4)
      faults.push({ at, kind: "node-kill", node: int(0, NODE_COUNT - 1), downMs: int(100, 1_500) });
    else if (x < 0.6)
      faults.push({ at, kind: "node-stop", node: int(0, NODE_COUNT - 1), stopMs: int(300, 5_000) });
    else if (x < 0.8) faults.push({ at, kind: "kill-after-start", downMs: int(100, 1_500) });
    else faults.push({ at, kind: "stop-after-start", stopMs: int(300, 5_000) });
  }
  faults.sort((a, b) => a.at - b.at);
  return { seed, kinds, restartS: [0.5, 1, 2, 3][int(0, 3)] as number, faults, faultsMs: FAULTS_MS };
}
