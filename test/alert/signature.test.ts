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

test("Standard Webhooks: v1,base64 HMAC over id.timestamp.body with the whsec_ key; stale, tampered, wrong key fail", async () => {
  const { signStandard, verifyStandard, standardKey } = await import("../../src/alert/signature.js");
  const key = Buffer.from("0123456789abcdef0123456789abcdef");
  const secret = "whsec_" + key.toString("base64");
  const body = '{"id":"a1"}';
  const sig = signStandard(secret, "a1", 1000, body);
  assert.equal(sig, "v1," + createHmac("sha256", key).update(`a1.1000.${body}`).digest("base64"));
  assert.equal(verifyStandard(secret, "a1", "1000", body, `v1,bogus ${sig}`, { nowSec: 1000 }), true);
  assert.equal(verifyStandard(secret, "a2", "1000", body, sig, { nowSec: 1000 }), false);
  assert.equal(verifyStandard(secret, "a1", "1000", body, sig, { nowSec: 1301 }), false);
  assert.equal(verifyStandard(secret, "a1", "1000", body + " ", sig, { nowSec: 1000 }), false);
  assert.ok(Buffer.isBuffer(standardKey(key.toString("base64"))), "the prefix is optional");
  assert.match((standardKey("whsec_short") as { error: string }).error, /base64/);
  assert.match((standardKey("whsec_" + "AAAA") as { error: string }).error, /24 to 64 bytes/);
});
