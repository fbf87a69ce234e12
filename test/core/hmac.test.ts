// The one HMAC-SHA256 helper the mesh, the heartbeat proof and the webhook signatures use.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  freshNonce,
  hmacSha256,
  NONCE_BYTES,
  sameBytes,
  sameText,
  verifyHmacHex,
} from "../../src/core/hmac.js";

// RFC 4231, test case 2.
const KEY = "Jefe";
const DATA = "what do ya want for nothing?";
const MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

test("hmacSha256 is HMAC-SHA256 (RFC 4231 test case 2), for string and byte inputs", () => {
  assert.equal(hmacSha256(KEY, DATA).toString("hex"), MAC);
  assert.equal(hmacSha256(Buffer.from(KEY), Buffer.from(DATA)).toString("hex"), MAC);
});

test("verifyHmacHex accepts the 64-hex proof in either case and nothing else", () => {
  assert.equal(verifyHmacHex(KEY, DATA, MAC), true);
  assert.equal(verifyHmacHex(KEY, DATA, MAC.toUpperCase()), true);
  assert.equal(verifyHmacHex("other key", DATA, MAC), false);
  assert.equal(verifyHmacHex(KEY, `${DATA}!`, MAC), false);
  assert.equal(verifyHmacHex(KEY, DATA, MAC.slice(0, 62)), false);
  assert.equal(verifyHmacHex(KEY, DATA, `${MAC}zz`), false);
  assert.equal(verifyHmacHex(KEY, DATA, `${MAC}0`), false);
  assert.equal(verifyHmacHex(KEY, DATA, undefined), false);
  assert.equal(verifyHmacHex(KEY, DATA, Buffer.from(MAC, "hex")), false);
});

test("sameBytes and sameText: equal content only, different lengths are false (no throw)", () => {
  assert.equal(sameBytes(Buffer.from("abc"), Buffer.from("abc")), true);
  assert.equal(sameBytes(Buffer.from("abc"), Buffer.from("abd")), false);
  assert.equal(sameBytes(Buffer.from("abc"), Buffer.from("abcd")), false);
  assert.equal(sameText("v1,é", "v1,é"), true);
  assert.equal(sameText("v1,a", "v1,ab"), false);
});

test("freshNonce: NONCE_BYTES random bytes as hex, a new one each call", () => {
  const a = freshNonce();
  assert.match(a, new RegExp(`^[0-9a-f]{${NONCE_BYTES * 2}}$`));
  assert.notEqual(freshNonce(), a);
});
