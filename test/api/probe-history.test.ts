import { test } from "node:test";
import assert from "node:assert/strict";
import { ProbeHistory } from "../../src/api/probe-history.js";

test("probe history keeps the last 60 results per peer, oldest first, and forgets removed peers", () => {
  const h = new ProbeHistory();
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (let i = 0; i < 75; i++) {
    h.record(
      "a",
      i % 10 === 0 ? { ok: false, duration_ms: 5, error: "refused" } : { ok: true, duration_ms: i },
      t0 + i * 1000,
    );
  }
  h.record("b", { ok: false, duration_ms: 1, error: "EMFILE", inconclusive: true }, t0);
  const a = h.get("a");
  assert.equal(a.length, 60);
  assert.equal(a[0]?.at, new Date(t0 + 15_000).toISOString());
  assert.deepEqual(a.at(-1), { at: new Date(t0 + 74_000).toISOString(), result: "ok", duration_ms: 74 });
  assert.deepEqual(a[5], {
    at: new Date(t0 + 20_000).toISOString(),
    result: "miss",
    duration_ms: 5,
    error: "refused",
  });
  assert.equal(h.get("b")[0]?.result, "inconclusive");
  h.remove("a");
  assert.deepEqual(h.get("a"), []);
});
