// HMAC-SHA256 and constant-time comparison, written once. The mesh (views, view
// requests), the heartbeat proof and the webhook signatures sign and verify with these.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Bytes of randomness in a nonce a proof is bound to (a view or heartbeat request). */
export const NONCE_BYTES = 16;

/** A fresh nonce: NONCE_BYTES random bytes as hex. */
export function freshNonce(): string {
  return randomBytes(NONCE_BYTES).toString("hex");
}

/** A hex HMAC-SHA256: 64 hex digits (either case). */
export const HEX64 = /^[0-9a-f]{64}$/i;

/** HMAC-SHA256(key, data); a string key or data is used as UTF-8. */
export function hmacSha256(key: string | Buffer, data: string | Buffer): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** True when `a` and `b` hold the same bytes; constant time for equal lengths, false for different lengths. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the strings are equal (as UTF-8 bytes), compared in constant time. */
export function sameText(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a), Buffer.from(b));
}

/**
 * True when `proof` is the hex HMAC-SHA256(key, data) (64 hex digits, either case),
 * compared in constant time. Anything else (not a string, not 64 hex digits) is false.
 */
export function verifyHmacHex(key: string | Buffer, data: string | Buffer, proof: unknown): boolean {
  return (
    typeof proof === "string" &&
    HEX64.test(proof) &&
    sameBytes(hmacSha256(key, data), Buffer.from(proof, "hex"))
  );
}
