// The checker of a Jepsen-style run (pure): from the restart command's own log (the
// target's side) and the agent's failure episodes, the violations:
//   - two restarts in flight at once (one started while another had not ended);
//   - a restart against a healthy target (started outside every failure episode);
//   - more than one restart performed for one failure episode (one incident, one step);
//   - a restart by a node that could not have had its quorum: cut off from every other
//     node (no link working both ways) since at least `quorumWindowMs` before it started
//     (a view counts for 3 intervals, so a majority seen just before a cut may still act);
//   - a failure not remediated within `boundMs` after every fault healed.
import type { RestartLine } from "../helpers/slow-restart-mesh.js";

/** A line of the restart command's log. */
export type StepLine = RestartLine;

export interface Episode {
  kind: "fail" | "hang";
  /** Epoch ms the agent started failing. */
  start: number;
  /** Epoch ms a restart's end healed it; undefined while it lasts. */
  end?: number;
}

export interface CheckInput {
  lines: StepLine[];
  episodes: Episode[];
  /** Epoch ms when every fault had healed (all nodes up and running). */
  healedAt: number;
  /** Epoch ms when the run was checked. */
  checkedAt: number;
  /** Bound on remediation after the faults healed, ms. */
  boundMs: number;
  /** The restart's own timeout, ms (a start older than this no longer counts as in flight). */
  stepTimeoutMs: number;
  /** When each node reached no other node both ways (epoch ms; `to` unset while it lasts). */
  cutOff?: ReadonlyArray<{ node: string; from: number; to?: number }>;
  /** How long before a restart its node's cut-off must have begun to rule its quorum out, ms. */
  quorumWindowMs?: number;
}

export function check(x: CheckInput): string[] {
  const v: string[] = [];
  const starts = x.lines.filter((l) => l.kind === "start").sort((a, b) => a.at - b.at);
  const endOf = (s: StepLine) => x.lines.find((l) => l.kind === "end" && l.pid === s.pid)?.at;
  for (const [i, s] of starts.entries()) {
    for (const o of starts.slice(0, i)) {
      const end = endOf(o);
      if ((end === undefined || end > s.at) && s.at < o.at + x.stepTimeoutMs)
        v.push(
          `two restarts in flight at once: ${s.node} ${s.effect} started at ${s.at} while ${o.node} ${o.effect} (started ${o.at}) had not ended`,
        );
    }
    const alone = (x.cutOff ?? []).find(
      (c) =>
        c.node === s.node && c.from <= s.at - (x.quorumWindowMs ?? 0) && (c.to === undefined || c.to >= s.at),
    );
    if (alone)
      v.push(
        `restart without a quorum: ${s.node} ${s.effect} at ${s.at}, cut off from every other node since ${alone.from}`,
      );
    const ep = x.episodes.find((e) => e.start <= s.at && (e.end === undefined || s.at <= e.end));
    if (!ep) v.push(`restart against a healthy target: ${s.node} ${s.effect} at ${s.at}`);
  }
  for (const e of x.episodes) {
    const within = starts.filter((s) => s.at >= e.start && (e.end === undefined || s.at <= e.end));
    if (within.length > 1)
      v.push(
        `${within.length} restarts for one failure (${e.kind} from ${e.start}): ${within.map((s) => `${s.node} ${s.effect}`).join(", ")}`,
      );
    const deadline = Math.max(e.start, x.healedAt) + x.boundMs;
    if ((e.end ?? Infinity) > deadline && x.checkedAt >= deadline)
      v.push(
        `failure (${e.kind} from ${e.start}) not remediated within ${x.boundMs} ms after the faults healed (${e.end === undefined ? "never" : `healed at ${e.end}`})`,
      );
  }
  return v;
}
