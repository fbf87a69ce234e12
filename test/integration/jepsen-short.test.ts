// A short Jepsen-style run (test/jepsen/): two seeded schedules of agent failures and
// hangs, node SIGKILLs and SIGSTOPs (some right after a node starts a restart), symmetric
// and one-way partitions and a flapping link between network namespaces, against real
// `wdmesh run` daemons and embedded agents sharing one step ledger; each run is checked
// from the restart command's own log. `npm run test:jepsen` runs a longer budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { skipUnlessNetns } from "../helpers/netns.js";
import { makeSchedule } from "../jepsen/schedule.js";
import { runSchedule } from "../jepsen/run-schedule.js";

// Seed 9: a flapping link, a one-way cut, a partition, a node stopped right after it
// starts a restart; seed 14: a partition and nodes killed right after they start one.
const SEEDS = [9, 14];

test(
  "Jepsen-style schedules: at most one restart per failure, none against a healthy agent or without a quorum, each failure remediated after the faults heal",
  { timeout: 240_000, skip: skipUnlessNetns() },
  async (t) => {
    if (!haveBuiltCli(t)) return;
    for (const seed of SEEDS) {
      const out: string[] = [];
      const r = await runSchedule(makeSchedule(seed), { log: (m) => out.push(m) });
      assert.equal(r.error, undefined, `seed ${seed} could not run: ${r.error}\n${out.join("\n")}`);
      assert.deepEqual(
        r.violations,
        [],
        `seed ${seed} (replay: npm run test:jepsen -- --seed ${seed})\n${out.join("\n")}`,
      );
      assert.ok(r.episodes >= 1 && r.restarts >= 1, `seed ${seed} exercised a failure and a restart`);
    }
  },
);
