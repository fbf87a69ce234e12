// The weaker variants of the mesh gate's rules, written here and not in the product: a
// test runs the gate (or the simulation) with one of them to show the violation the
// shipped rule prevents. The product always runs GATE_RULES (src/mesh/gate.ts).
import { nextBacking, topConfirming } from "../../src/mesh/backing.js";
import { GATE_RULES, type GateRules } from "../../src/mesh/gate.js";

/** Which shipped rule to switch off (each true, or absent, keeps it). */
export interface Ablations {
  /** false: a member this node backed that went silent does not keep it off the target. */
  waitForSilentRemediator?: boolean;
  /** false: only a drop restarts the settle period, not every change of backing. */
  settleEveryMove?: boolean;
  /** false: another member's step in flight does not make this node's backing count for nobody. */
  unsettleDuringOthersStep?: boolean;
  /** false: a node that backs itself moves to the top even when the top backs it (the flap). */
  stayWhenBacked?: boolean;
}

/** nextBacking without "a node that backs itself stays when the top backs it". */
export const nextBackingWithoutStay: GateRules["nextBacking"] = (prev, input) => {
  if (prev === input.self && input.selfDegraded !== true && input.recentOwnStep !== true) {
    const { top } = topConfirming(input);
    if (top !== input.self) return { backs: top, dropped: false };
  }
  return nextBacking(prev, input);
};

/** GATE_RULES with the rules `a` switches off replaced by their weaker variants. */
export function ablatedRules(a: Ablations = {}): GateRules {
  return {
    nextBacking: a.stayWhenBacked === false ? nextBackingWithoutStay : GATE_RULES.nextBacking,
    unsettles: a.settleEveryMove === false ? (move) => move.dropped : GATE_RULES.unsettles,
    silentAfterMs: a.waitForSilentRemediator === false ? () => undefined : GATE_RULES.silentAfterMs,
    othersBusy:
      a.unsettleDuringOthersStep === false
        ? (watch, s) =>
            watch.silent(
              s.target,
              s.views().filter((v) => v.node !== s.backs),
              s.now,
              s.backedAt,
            )
        : GATE_RULES.othersBusy,
  };
}
