// Half 2 of the simulation's seeded schedules (half 1: simulation-seeds-1.test.ts), in a
// file of its own so the two halves run side by side. What a schedule holds and how to
// replay one seed: simulation.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeFailure, seedShard, SIM_SEEDS, sweep } from "../helpers/mesh-sim.js";

const [from, to] = seedShard(2, 2);

test(
  `seeds ${from}-${to} of ${SIM_SEEDS}: no remediation without quorum, one step per takeover_after, no un-isolation`,
  { skip: process.env.SIM_SEED !== undefined ? "replaying one seed (SIM_SEED)" : false },
  () => {
    const failing = sweep(from, to);
    assert.deepEqual(
      failing.map((r) => r.seed),
      [],
      `${failing.length} seeds violate an invariant:\n${failing.slice(0, 5).map(describeFailure).join("\n")}`,
    );
  },
);
