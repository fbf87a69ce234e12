// Mesh simulation throughput (prints JSON; never passes or fails): how many seeded
// schedules (test/helpers/mesh-sim.ts) run per second, with the product's rule and with
// the old rule (quorum over reachable members), with the product's rule but without
// waiting for a member gone silent as possible remediator (the rule before it), without
// restarting the settle period on every backing change, without unsettling a backing while
// another member's step is in flight, and how many seeds violate an invariant.
//   node --import tsx bench/mesh-simulation.ts [--seeds 10000]
import { legacyReachableQuorum } from "../test/helpers/legacy-quorum.js";
import { simulate, type SimOptions } from "../test/helpers/mesh-sim.js";
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
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = simulate({ seed, ...(rule ? { rule } : {}), ...opts });
    if (r.violations.length > 0) violating++;
    events += r.events;
    remediations += r.remediations;
    holds += r.holds;
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
  };
}

console.log(
  JSON.stringify(
    {
      product_rule: run(),
      without_silent_remediator_wait: run(undefined, { waitForSilentRemediator: false }),
      without_settle_on_every_move: run(undefined, { settleEveryMove: false }),
      without_unsettle_during_others_step: run(undefined, { unsettleDuringOthersStep: false }),
      old_rule: run(legacyReachableQuorum),
    },
    null,
    2,
  ),
);
