import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  rememberedWeights,
  rendezvousOrder,
  rendezvousOwner,
  rendezvousWeight,
  WEIGHT_MEMO_MAX,
} from "../../src/mesh/owner.js";

const NODES = ["immune", "sidecar-wd", "shield-wd", "edge-1", "edge-2"];
const TARGETS = Array.from({ length: 200 }, (_, i) => `agent-${i}`);

/** Reference: argmax over the sha256 digest read as a big integer. */
function reference(target: string, nodes: string[]): string {
  let best = "";
  let bestN = -1n;
  for (const n of nodes) {
    const w = BigInt("0x" + createHash("sha256").update(`${n}\n${target}`).digest("hex"));
    if (w > bestN) {
      bestN = w;
      best = n;
    }
  }
  return best;
}

describe("rendezvous owner", () => {
  test("weight is sha256 of node, newline, target", () => {
    assert.equal(rendezvousWeight("a", "t"), createHash("sha256").update("a\nt").digest("hex"));
    assert.notEqual(rendezvousWeight("a", "t"), rendezvousWeight("t", "a"));
  });

  test("remembered weights are the same weights, and never more than the bound", () => {
    let cleared = 0;
    for (let i = 0; i < WEIGHT_MEMO_MAX + 500; i++) {
      const t = `memo-${i}`;
      const before = rememberedWeights();
      // A new weight is remembered; at the bound, all are forgotten at once first.
      const after = before >= WEIGHT_MEMO_MAX ? 1 : before + 1;
      if (after === 1 && before > 0) cleared++;
      const first = rendezvousWeight("n", t);
      assert.equal(rememberedWeights(), after, "a new weight is remembered");
      assert.equal(rendezvousWeight("n", t), first);
      assert.equal(rememberedWeights(), after, "asked again: served from memory");
      if (i % 997 === 0) assert.equal(first, createHash("sha256").update(`n\n${t}`).digest("hex"));
    }
    assert.equal(cleared, 1, "the bound was reached once");
  });

  test("owner is the argmax of the weight (checked against a BigInt reference)", () => {
    for (const t of TARGETS) assert.equal(rendezvousOwner(t, NODES), reference(t, NODES), t);
  });

  test("deterministic and independent of the order nodes are listed in (every node computes the same owner)", () => {
    for (const t of TARGETS) {
      const a = rendezvousOwner(t, NODES);
      const b = rendezvousOwner(t, [...NODES].reverse());
      const c = rendezvousOwner(t, [NODES[2], NODES[0], NODES[4], NODES[1], NODES[3]] as string[]);
      assert.equal(a, b);
      assert.equal(a, c);
      assert.equal(rendezvousOwner(t, NODES), a);
    }
  });

  test("ownership spreads over the nodes (each node owns some of 200 targets)", () => {
    const counts = new Map<string, number>();
    for (const t of TARGETS) {
      const o = rendezvousOwner(t, NODES) as string;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const n of NODES) assert.ok((counts.get(n) ?? 0) > 10, `${n} owns ${counts.get(n) ?? 0} of 200`);
  });

  test("removing a node that is not the owner never moves ownership", () => {
    for (const t of TARGETS) {
      const owner = rendezvousOwner(t, NODES) as string;
      for (const gone of NODES.filter((n) => n !== owner)) {
        assert.equal(
          rendezvousOwner(
            t,
            NODES.filter((n) => n !== gone),
          ),
          owner,
          `${t} without ${gone}`,
        );
      }
    }
  });

  test("removing the owner moves ownership to the next in succession order", () => {
    for (const t of TARGETS) {
      const order = rendezvousOrder(t, NODES);
      assert.equal(order[0], rendezvousOwner(t, NODES));
      assert.equal(
        rendezvousOwner(
          t,
          NODES.filter((n) => n !== order[0]),
        ),
        order[1],
      );
      assert.equal(
        rendezvousOwner(
          t,
          NODES.filter((n) => n !== order[0] && n !== order[1]),
        ),
        order[2],
      );
    }
  });

  test("edge cases: no candidates, one candidate, duplicates", () => {
    assert.equal(rendezvousOwner("t", []), undefined);
    assert.equal(rendezvousOwner("t", ["only"]), "only");
    assert.equal(rendezvousOwner("t", ["a", "b", "a", "b"]), rendezvousOwner("t", ["b", "a"]));
    assert.deepEqual(rendezvousOrder("t", ["a", "a", "b"]).length, 2);
  });
});
