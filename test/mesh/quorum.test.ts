import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isConfirmed, requiredConfirmations, type ConfirmMode } from "../../src/mesh/quorum.js";
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
