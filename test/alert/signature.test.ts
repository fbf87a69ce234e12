import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { signPayload, verifySignature } from "../../src/alert/signature.js";

test("signature is sha256=hex HMAC-SHA256(secret, `${ts}.${body}`), checked with node:crypto", () => {
  const body = '{"id":"a1","action":"restart"}';
  const sig = signPayload("s3cret", 1735787045, body);
  const expected = "sha256=" + createHmac("sha256", "s3cret").update(`1735787045.${body}`).digest("hex");
  assert.equal(sig, expected);
});

test("verifySignature accepts a fresh, matching signature", () => {
  const body = '{"x":1}';
  const sig = signPayload("k", 1000, body);
  assert.equal(verifySignature("k", "1000", body, sig, { nowSec: 1010 }), true);
});

test("verifySignature rejects a wrong secret, a changed body, a changed timestamp, a stale one", () => {
  const body = '{"x":1}';
  const sig = signPayload("k", 1000, body);
  assert.equal(verifySignature("other", "1000", body, sig, { nowSec: 1000 }), false);
  assert.equal(verifySignature("k", "1000", '{"x":2}', sig, { nowSec: 1000 }), false);
  assert.equal(verifySignature("k", "1001", body, sig, { nowSec: 1000 }), false);
  assert.equal(verifySignature("k", "1000", body, sig, { nowSec: 1000 + 301 }), false);
  assert.equal(verifySignature("k", "1000", body, sig, { nowSec: 1000 + 301, toleranceSec: 600 }), true);
  assert.equal(verifySignature("k", "10e2", body, sig, { nowSec: 1000 }), false);
  assert.equal(verifySignature("k", "1000", body, "sha256=00", { nowSec: 1000 }), false);
});
