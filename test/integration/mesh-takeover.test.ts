// A slow restart is not repeated when its node is SIGKILLed mid-restart, after the other
// nodes could see the step in their views (test/helpers/mesh-takeover.ts): with three
// `wdmesh run` daemons, three agents embedding the library's Monitor, and a mix.
//   1. The agent stays failing: nobody repeats the restart before takeover_after; then one
//      survivor re-probes and takes over.
//   2. The agent recovers during the slow restart: nobody repeats it at all.
// (Killed at once, before any view listed the step: mesh-takeover-immediate.test.ts.)
import { test } from "node:test";
import { MESH_VARIANTS } from "../helpers/mesh-node.js";
import { takeoverScenario } from "../helpers/mesh-takeover.js";

for (const [variant, kinds] of Object.entries(MESH_VARIANTS)) {
  test(
    `(${variant}) a slow restart whose node is SIGKILLed is not repeated before takeover_after; a survivor re-probes, then takes over`,
    { timeout: 180_000 },
    (t) => takeoverScenario(t, { kinds, recovers: false, kill: "seen" }),
  );
  // The recovery case shows nothing new for a mixed mesh; it would add ~18 s.
  if (variant !== "mixed")
    test(
      `(${variant}) a slow restart whose node is SIGKILLed while the agent recovers is not repeated by any other node`,
      { timeout: 180_000 },
      (t) => takeoverScenario(t, { kinds, recovers: true, kill: "seen" }),
    );
}
