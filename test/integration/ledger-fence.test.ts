// The host's step ledger against real processes (test/helpers/ledger-fence.ts), with three
// `wdmesh run` daemons, three agents embedding the library's Monitor, and a mix:
//   1. A node SIGKILLed right after it starts a slow restart and back within a second
//      repeats nothing (its step is in flight in the ledger on disk); counted from the
//      restart command's own log.
//   2. A node stopped (SIGSTOP) between its verdict and its action, continued after another
//      node took over and acted, performs nothing and journals step_fenced naming that node.
import { test } from "node:test";
import { MESH_VARIANTS } from "../helpers/mesh-node.js";
import { ledgerScenario } from "../helpers/ledger-fence.js";

for (const [variant, kinds] of Object.entries(MESH_VARIANTS)) {
  test(
    `(${variant}) a node SIGKILLed right after it starts a slow restart and back within a second repeats nothing`,
    { timeout: 180_000 },
    (t) => ledgerScenario(t, { kinds, fault: "kill" }),
  );
  test(
    `(${variant}) a node SIGSTOPped between verdict and action, continued after another node acted, performs nothing`,
    { timeout: 180_000 },
    (t) => ledgerScenario(t, { kinds, fault: "pause" }),
  );
}
