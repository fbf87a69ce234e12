// Half 2 of the simulation's seeded schedules (half 1: simulation-seeds-1.test.ts), in a
// file of its own so the two halves run side by side. What a schedule holds and how to
// replay one seed: simulation.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seedShard, seedsThatFail, SIM_SEEDS } from "../helpers/mesh-sim.js";

const [from, to] = seedShard(2, 2);
const replaying = process.env.SIM_SEED !== undefined ? "replaying one seed (SIM_SEED)" : false;

test(`seeds ${from}-${to} of ${SIM_SEEDS} hold every invariant`, { skip: replaying }, () => {
  const { seeds, message } = seedsThatFail(from, to);
  assert.deepEqual(seeds, [], message);
});
