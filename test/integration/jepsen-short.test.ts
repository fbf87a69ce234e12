// A short Jepsen-style run (test/jepsen/): two seeded schedules of agent failures and
// hangs, node SIGKILLs and SIGSTOPs (some right after a node starts a restart), against
// real `wdmesh run` daemons and embedded agents sharing one step ledger; each run is
// checked from the restart command's own log. `npm run test:jepsen` runs a longer budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { makeSchedule } from "../jepsen/schedule.js";
import { runSchedule } from "../jepsen/run-schedule.js";

const SEEDS = [3, 12];

test(
  "Jepsen-style schedules: at most one restart per failure, none against a healthy agent, each failure remediated after the faults heal",
  { timeout: 240_000 },
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
