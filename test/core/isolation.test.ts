// Isolation records of every stored version read back as the structured form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readIsolationRecord } from "../../src/core/isolation.js";

void test("legacy systemd steps: was: entries become the previous values and leave the step list", () => {
  const cases: Array<[string[], object]> = [
    [
      ["IPAddressDeny=any"],
      {
        mode: "network",
        network: { previousDeny: "", previousAllow: "" },
        masked: false,
        stopped: false,
        frozen: false,
      },
    ],
    [
      [
        "IPAddressAllow=",
        "IPAddressDeny=any",
        "was:IPAddressAllow=127.0.0.0/8",
        "was:IPAddressDeny=10.0.0.0/8",
      ],
      {
        mode: "network",
        network: { previousDeny: "10.0.0.0/8", previousAllow: "127.0.0.0/8" },
        masked: false,
        stopped: false,
        frozen: false,
      },
    ],
    [["mask", "stop"], { mode: "stop", masked: true, stopped: true, frozen: false }],
    [["freeze"], { mode: "freeze", masked: false, stopped: false, frozen: true }],
    [[], { mode: "stop", masked: false, stopped: false, frozen: false }],
  ];
  for (const [applied, systemd] of cases) {
    const r = readIsolationRecord({ method: "systemd", unit: "a.service", applied });
    assert.deepEqual(r?.systemd, systemd, JSON.stringify(applied));
    assert.ok(!r?.applied.some((a) => a.startsWith("was:")));
  }
});

void test("structured records, command and none records pass through; garbage is null", () => {
  const structured = {
    method: "systemd",
    unit: "a.service",
    applied: ["freeze"],
    systemd: { mode: "freeze", masked: false, stopped: false, frozen: true },
  };
  assert.deepEqual(readIsolationRecord(structured), structured);
  assert.deepEqual(readIsolationRecord({ method: "command", applied: ["/bin/cut"] }), {
    method: "command",
    applied: ["/bin/cut"],
  });
  assert.deepEqual(readIsolationRecord({ method: "none", applied: [] }), { method: "none", applied: [] });
  assert.equal(readIsolationRecord(null), null);
  assert.equal(readIsolationRecord("x"), null);
  assert.equal(readIsolationRecord({ method: "other" }), null);
});
