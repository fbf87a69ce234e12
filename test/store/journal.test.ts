import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  canonicalEntry,
  GENESIS_HASH,
  linkHash,
  verifyChain,
  type ChainEntry,
} from "../../src/store/journal.js";
import { action } from "./fixtures/transitions.js";

function chain(n: number): Array<ChainEntry & Record<string, unknown>> {
  const out: Array<ChainEntry & Record<string, unknown>> = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const a = action(`a${i}`, "p", "alert", "MEDIUM", "inc-1");
    const hash = linkHash(prev, canonicalEntry(a));
    out.push({ ...a, seq: i, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

void describe("canonical entry", () => {
  void test("sorts keys recursively, drops result and chain fields, no spaces", () => {
    const a = {
      b: 1,
      a: { d: [{ z: 1, y: 2 }], c: "x" },
      result: { ok: true },
      seq: 3,
      hash: "h",
      prev_hash: "p",
      u: undefined,
    };
    assert.equal(canonicalEntry(a), '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}');
  });

  void test("hash is sha256 hex of prev_hash + canonical", () => {
    const a = action("x", "p", "restart", "HIGH", null);
    const expected = createHash("sha256")
      .update(GENESIS_HASH + canonicalEntry(a))
      .digest("hex");
    assert.equal(linkHash(GENESIS_HASH, canonicalEntry(a)), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
  });

  void test("a result added later does not change the hash", () => {
    const a = action("x", "p", "restart", "HIGH", null);
    assert.equal(canonicalEntry(a), canonicalEntry({ ...a, result: { ok: false, error: "boom" } }));
  });

  void test("deliveries merged at read time do not change the hash; other fields do", () => {
    const a = action("x", "p", "restart", "HIGH", null);
    const dead = {
      ...a,
      deliveries: [{ sink: "webhook", state: "dead", attempts: 3, last_error: "HTTP 400: bad" }],
    };
    assert.equal(canonicalEntry(a), canonicalEntry(dead));
    assert.notEqual(canonicalEntry(a), canonicalEntry({ ...a, delivery: "x" }));
    const entry = {
      ...dead,
      seq: 1,
      prev_hash: GENESIS_HASH,
      hash: linkHash(GENESIS_HASH, canonicalEntry(a)),
    };
    assert.deepEqual(verifyChain([entry]), { ok: true, checked: 1 });
  });
});

void describe("verifyChain", () => {
  void test("an intact chain verifies; empty too", () => {
    assert.deepEqual(verifyChain(chain(5)), { ok: true, checked: 5 });
    assert.deepEqual(verifyChain([]), { ok: true, checked: 0 });
  });

  void test("survives a JSON round trip (entries fetched over HTTP)", () => {
    const entries = JSON.parse(
      JSON.stringify(chain(4).map((e) => ({ ...e, result: { ok: true } }))),
    ) as ChainEntry[];
    assert.deepEqual(verifyChain(entries), { ok: true, checked: 4 });
  });

  void test("a changed field names that entry", () => {
    const c = chain(5);
    c[2] = { ...c[2]!, reason: "something else" };
    const r = verifyChain(c);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.seq, 3);
    assert.equal(r.checked, 2);
    assert.match(r.reason, /hash of entry seq 3 does not match its content/);
  });

  void test("a removed entry names the next link and the missing seq", () => {
    const c = chain(5);
    c.splice(2, 1);
    const r = verifyChain(c);
    assert.ok(!r.ok);
    assert.equal(r.seq, 4);
    assert.match(
      r.reason,
      /prev_hash of entry seq 4 does not match the hash of entry seq 2 \(entries seq 3\.\.3 are missing\)/,
    );
  });

  void test("a re-hashed forged entry still breaks the following link", () => {
    const c = chain(5);
    const forged = { ...c[1]!, reason: "forged" };
    forged.hash = linkHash(forged.prev_hash, canonicalEntry(forged));
    c[1] = forged;
    const r = verifyChain(c);
    assert.ok(!r.ok);
    assert.equal(r.seq, 3);
  });

  void test("first entry must link to genesis; a window is checked from its own start or an anchor", () => {
    const c = chain(5);
    const bad = [{ ...c[0]!, prev_hash: "f".repeat(64) }];
    const r = verifyChain(bad);
    assert.ok(!r.ok);
    assert.equal(r.seq, 1);
    assert.match(r.reason, /genesis/);
    assert.deepEqual(verifyChain(c.slice(2)), { ok: true, checked: 3 });
    assert.deepEqual(verifyChain(c.slice(2), { anchor: c[1]!.hash }), { ok: true, checked: 3 });
    const r2 = verifyChain(c.slice(2), { anchor: c[0]!.hash });
    assert.ok(!r2.ok);
    assert.equal(r2.seq, 3);
  });

  void test("out of order entries are reported", () => {
    const c = chain(3);
    const r = verifyChain([c[0]!, c[2]!, c[1]!]);
    assert.ok(!r.ok);
    assert.equal(r.seq, 3);
  });
});
