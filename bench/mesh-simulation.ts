// Mesh simulation throughput (prints JSON; never passes or fails): how many seeded
// schedules (test/helpers/mesh-sim.ts) run per second, with the product's rule and with
// the old rule (quorum over reachable members), with the product's rule but without
// waiting for a member gone silent as possible remediator (the rule before it), without
// restarting the settle period on every backing change, without unsettling a backing while
// another member's step is in flight, with a node backing itself moving to a node that backs
// it (the livelock), and how many seeds violate an invariant (`liveness`: how many seeds
// never remediate the failing target within the bound after the quiet point; the slowest
// remediation after it, in intervals beyond takeover_after).
//   node --import tsx bench/mesh-simulation.ts [--seeds 10000]
import { legacyReachableQuorum } from "../test/helpers/legacy-quorum.js";
import { invariantOf, SIM_INTERVAL, simulate, type SimOptions } from "../test/helpers/mesh-sim.js";
import type { QuorumRule } from "../src/mesh/quorum.js";

const i = process.argv.indexOf("--seeds");
const SEEDS = i > 0 ? Number(process.argv[i + 1]) : 10_000;

function run(rule?: QuorumRule, opts: Partial<SimOptions> = {}) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let violating = 0;
  let events = 0;
  let remediations = 0;
  let holds = 0;
  let liveness = 0;
  let slowest = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = simulate({ seed, ...(rule ? { rule } : {}), ...opts });
    if (r.violations.length > 0) violating++;
    events += r.events;
    remediations += r.remediations;
    holds += r.holds;
    if (r.violations.some((v) => invariantOf(v) === "liveness")) liveness++;
    if (r.remediatedAfterMs !== null) slowest = Math.max(slowest, r.remediatedAfterMs - r.takeoverAfterMs);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    seeds: SEEDS,
    wall_ms: Math.round(wallMs),
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    seeds_per_s: Math.round((SEEDS / wallMs) * 1000),
    events,
    remediations,
    holds,
    violating_seeds: violating,
    liveness,
    slowest_remediation_after_quiet_beyond_takeover_intervals: Math.round((slowest / SIM_INTERVAL) * 10) / 10,
  };
}

console.log(
  JSON.stringify(
    {
      product_rule: run(),
      without_silent_remediator_wait: run(undefined, { waitForSilentRemediator: false }),
      without_settle_on_every_move: run(undefined, { settleEveryMove: false }),
      without_unsettle_during_others_step: run(undefined, { unsettleDuringOthersStep: false }),
      moving_to_a_node_that_backs_it: run(undefined, { stayWhenBacked: false }),
      old_rule: run(legacyReachableQuorum),
    },
    null,
    2,
  ),
);
