// The mesh's OLD decision rule, kept only so tests can show what it gets wrong: the
// quorum was counted over the observers a node could reach (this node + members with a
// fresh view listing the target) and the owner was the rendezvous top of those
// observers. A node that reaches nobody is 1 of 1, so it acts alone.
import { rendezvousOwner } from "../../src/mesh/owner.js";
import { isConfirmed, type QuorumRule } from "../../src/mesh/quorum.js";

export const legacyReachableQuorum: QuorumRule = (f) => {
  const owner = rendezvousOwner(f.target, f.observers);
  const confirmed = isConfirmed(f.mode, f.observers.length, f.confirming.length);
  const why = `observers=${f.observers.join(",")} failing=${f.confirming.join(",")} owner=${owner}`;
  return owner === f.self && confirmed ? { act: true, why } : { act: false, why };
};
