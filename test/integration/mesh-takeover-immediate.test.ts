// A node SIGKILLed within a few ms of starting a slow restart, before any other node could
// fetch a view listing the step (test/helpers/mesh-takeover.ts, kill "immediate"): the
// others only know that they backed it as remediator of the failing agent. That is
// enough: nobody repeats the restart before takeover_after, then one survivor re-probes and
// takes over. With three `wdmesh run` daemons, three embedded agents, and a mix. (Fails
// when the gate does not wait for a member it backed that went silent: a survivor restarts
// the agent once the victim's view is stale and the backings have settled, ~3 s in.)
import { test } from "node:test";
import { MESH_VARIANTS } from "../helpers/mesh-node.js";
import { takeoverScenario } from "../helpers/mesh-takeover.js";

for (const [variant, kinds] of Object.entries(MESH_VARIANTS))
  test(
    `(${variant}) a slow restart whose node is SIGKILLed right after starting it is not repeated before takeover_after; a survivor re-probes, then takes over`,
    { timeout: 180_000 },
    (t) => takeoverScenario(t, { kinds, recovers: false, kill: "immediate" }),
  );
