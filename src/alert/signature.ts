// Webhook signatures (SPEC §7): X-Wdmesh-Signature = "sha256=" + hex HMAC-SHA256(secret,
// "<timestamp>.<body>"), with X-Wdmesh-Timestamp = unix seconds. `verifySignature` is for
// receivers (and our tests): constant-time compare plus a freshness window against replays.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Wdmesh-Signature";
export const TIMESTAMP_HEADER = "X-Wdmesh-Timestamp";

/** "sha256=<hex>" over `${timestamp}.${body}`. `timestamp` is unix seconds. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `sha256=${mac}`;
}

export interface VerifyOptions {
  /** Accept timestamps at most this far from `nowSec`, seconds. Default 300 (5 min). */
  toleranceSec?: number;
  /** Current time, unix seconds. Default: the system clock. */
  nowSec?: number;
}

/**
 * True when `signature` (the X-Wdmesh-Signature header value) was made with `secret` over
 * this exact `timestamp` header value and raw `body`, and the timestamp is fresh.
 */
export function verifySignature(
  secret: string,
  timestamp: string | number,
  body: string,
  signature: string,
  opts: VerifyOptions = {},
): boolean {
  const ts = typeof timestamp === "number" ? timestamp : Number(timestamp);
  if (!Number.isInteger(ts) || String(ts) !== String(timestamp).trim()) return false;
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signPayload(secret, ts, body));
  const given = Buffer.from(signature.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
