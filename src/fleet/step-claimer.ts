// The fleet's StepClaimer (effects/runner.ts): each step is taken in etcd before the host's
// step ledger takes it: the step key on the peer (create-if-absent, bound to this node's
// lease), whose create revision is the fencing token. The runner hands that token to the
// ledger (which refuses one older than it accepted for the peer) and to the executor.
// Just before acting the node checks its own lease and the key again (checkToken), and the
// key is given up once the step ended. A step that cannot be taken never runs.
import type { StepClaimer } from "../effects/runner.js";
import type { FleetNode } from "./fleet-node.js";

export function fleetStepClaimer(fleet: FleetNode): StepClaimer {
  return {
    async claim(peer, kind) {
      const c = await fleet.claimStep(peer, kind);
      if (!c.ok) return { ok: false, reason: c.reason };
      return {
        ok: true,
        token: Number(c.token),
        check: () => fleet.checkToken(c.key, c.token),
        finish: () => fleet.finishStep(c.key, c.token),
      };
    },
  };
}
