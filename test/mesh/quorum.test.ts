import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  configuredQuorum,
  heldReason,
  isConfirmed,
  requiredConfirmations,
  type ConfirmMode,
} from "../../src/mesh/quorum.js";
import { WatchdogError } from "../../src/core/errors.js";

// [mode, observers, failing, confirmed]
const TABLE: Array<[ConfirmMode, number, number, boolean]> = [
  ["any", 1, 0, false],
  ["any", 1, 1, true],
  ["any", 3, 1, true],
  ["any", 3, 0, false],
  ["majority", 1, 1, true],
  ["majority", 1, 0, false],
  ["majority", 2, 1, false], // a tie is not a majority
  ["majority", 2, 2, true],
  ["majority", 3, 1, false],
  ["majority", 3, 2, true],
  ["majority", 3, 3, true],
  ["majority", 4, 2, false], // tie
  ["majority", 4, 3, true],
  ["majority", 5, 2, false],
  ["majority", 5, 3, true],
  ["all", 1, 1, true],
  ["all", 1, 0, false],
  ["all", 3, 2, false],
  ["all", 3, 3, true],
  ["any", 0, 0, false],
  ["majority", 0, 0, false],
  ["all", 0, 0, false],
];

describe("quorum", () => {
  for (const [mode, n, f, want] of TABLE) {
    test(`${mode}: ${f} of ${n} failing → ${want ? "confirmed" : "not confirmed"}`, () => {
      assert.equal(isConfirmed(mode, n, f), want);
    });
  }

  test("required confirmations", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => requiredConfirmations("majority", n)),
      [1, 2, 2, 3, 3],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => requiredConfirmations("all", n)),
      [1, 2, 3],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => requiredConfirmations("any", n)),
      [1, 1, 1],
    );
  });

  test("bad input is a typed error naming the field", () => {
    assert.throws(
      () => isConfirmed("majority", 2, 3),
      (e: unknown) =>
        e instanceof WatchdogError && e.code === "WDM_INVALID_OPTION" && /failing/.test(e.message),
    );
    assert.throws(() => isConfirmed("majority", -1, 0), /observers/);
    assert.throws(() => isConfirmed("most" as ConfirmMode, 3, 2), /mesh\.confirm.*any, majority, all/);
  });
});

describe("configured quorum rule", () => {
  const base = {
    self: "a",
    target: "t",
    members: ["b", "c"],
    reachable: ["b", "c"],
    observers: ["a", "b", "c"],
    isolatedBy: [] as string[],
  };
  // [mode, confirming, backs, backers, verdict]
  const ROWS: Array<[ConfirmMode, string[], string, string[], "act" | "hold" | "observe"]> = [
    ["majority", ["a"], "a", ["a"], "hold"],
    ["majority", ["a", "b"], "a", ["a", "b"], "act"],
    ["majority", ["a", "b"], "b", [], "observe"],
    ["majority", ["a", "b"], "a", ["a"], "observe"], // b backs another node, or not settled yet
    ["all", ["a", "b"], "a", ["a", "b"], "hold"],
    ["all", ["a", "b", "c"], "a", ["a", "b", "c"], "act"],
    ["any", ["a"], "a", ["a"], "act"],
    ["any", ["a"], "a", [], "observe"], // its own backing is not settled (startup)
    ["any", ["a", "b"], "b", [], "observe"],
  ];
  for (const [mode, confirming, backs, backers, want] of ROWS) {
    test(`${mode}: confirming ${confirming.join("+")}, backs ${backs}, backers ${backers.join("+") || "-"} → ${want}`, () => {
      const v = configuredQuorum({ ...base, mode, confirming, backs, backers });
      const got = v.act ? "act" : v.hold !== undefined ? "hold" : "observe";
      assert.equal(got, want, v.why);
    });
  }

  test("a target another node isolated is left alone: observe only, whatever the quorum", () => {
    const v = configuredQuorum({
      ...base,
      mode: "majority",
      confirming: ["a", "b", "c"],
      backs: "a",
      backers: ["a", "b", "c"],
      isolatedBy: ["b"],
    });
    assert.equal(v.act, false);
    assert.equal(v.act ? undefined : v.hold, undefined);
    assert.match(v.why, /isolated by b; only an operator release undoes it/);
  });

  test("the hold reason names who confirms, how many are needed and who is unreachable", () => {
    const v = configuredQuorum({
      ...base,
      mode: "majority",
      reachable: [],
      observers: ["a"],
      confirming: ["a"],
      backs: "a",
      backers: ["a"],
    });
    assert.deepEqual(
      { act: v.act, hold: v.act ? undefined : v.hold },
      { act: false, hold: "held: 1 of 3 nodes confirm the failure, 2 needed; unreachable: b, c" },
    );
    assert.equal(
      heldReason(2, 5, 3, []),
      "held: 2 of 5 nodes confirm the failure, 3 needed; unreachable: none",
    );
  });
});
