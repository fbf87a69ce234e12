// Webhook signatures, both ways: wdmesh signs with these, receivers (and our tests)
// verify with them. One implementation per scheme.
//
//  - generic: X-Wdmesh-Signature = "sha256=" + hex HMAC-SHA256(secret, "<timestamp>.<body>"),
//    with X-Wdmesh-Timestamp = unix seconds. The secret is used as UTF-8 text.
//  - standard (Standard Webhooks, standardwebhooks.com): webhook-signature = "v1," + base64
//    HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"), where the key is the
//    base64 secret after an optional "whsec_" prefix (as the standardwebhooks package reads it).
// Verification compares in constant time and rejects timestamps outside a freshness
// window (replays).
import { hmacSha256, sameText } from "../core/hmac.js";
import { SINK_DEFAULTS } from "../core/defaults.js";

export const SIGNATURE_HEADER = "X-Wdmesh-Signature";
export const TIMESTAMP_HEADER = "X-Wdmesh-Timestamp";

/** "sha256=<hex>" over `${timestamp}.${body}`. `timestamp` is unix seconds. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const mac = hmacSha256(secret, `${timestamp}.${body}`).toString("hex");
  return `sha256=${mac}`;
}

export interface VerifyOptions {
  /** Accept timestamps at most this far from `nowSec`, seconds. Default 300 (5 min). */
  toleranceSec?: number;
  /** Current time, unix seconds. Default: the system clock. */
  nowSec?: number;
}

/** The timestamp as an integer when it is one written plainly and fresh; else null. */
function freshTimestamp(timestamp: string | number, opts: VerifyOptions): number | null {
  const ts = typeof timestamp === "number" ? timestamp : Number(timestamp);
  if (!Number.isInteger(ts) || String(ts) !== String(timestamp).trim()) return null;
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  return Math.abs(now - ts) > (opts.toleranceSec ?? SINK_DEFAULTS.signatureToleranceSec) ? null : ts;
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
  const ts = freshTimestamp(timestamp, opts);
  return ts !== null && sameText(signature.trim(), signPayload(secret, ts, body));
}

// ---- Standard Webhooks

export const STANDARD_ID_HEADER = "webhook-id";
export const STANDARD_TIMESTAMP_HEADER = "webhook-timestamp";
export const STANDARD_SIGNATURE_HEADER = "webhook-signature";
const STANDARD_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The HMAC key of a Standard Webhooks secret ("whsec_<base64>" or plain base64), or a
 * reason it is not one. Keys of 24 to 64 bytes, as the Standard Webhooks text asks.
 */
export function standardKey(secret: string): Buffer | { error: string } {
  const b64 = secret.startsWith(STANDARD_PREFIX) ? secret.slice(STANDARD_PREFIX.length) : secret;
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) {
    return { error: 'must be "whsec_" followed by base64 (e.g. whsec_$(openssl rand -base64 32))' };
  }
  const key = Buffer.from(b64, "base64");
  if (key.length < 24 || key.length > 64) {
    return { error: `must encode a key of 24 to 64 bytes (this one has ${key.length})` };
  }
  return key;
}

function standardKeyOrThrow(secret: string): Buffer {
  const key = standardKey(secret);
  if (!Buffer.isBuffer(key)) throw new TypeError(`Standard Webhooks secret ${key.error}`);
  return key;
}

/** "v1,<base64>" over `${id}.${timestamp}.${body}`. `timestamp` is unix seconds. */
export function signStandard(secret: string, id: string, timestamp: number, body: string): string {
  const mac = hmacSha256(standardKeyOrThrow(secret), `${id}.${timestamp}.${body}`).toString("base64");
  return `v1,${mac}`;
}

/** True when one of the space-separated `v1,` signatures matches and the timestamp is fresh. */
export function verifyStandard(
  secret: string,
  id: string,
  timestamp: string | number,
  body: string,
  signatures: string,
  opts: VerifyOptions = {},
): boolean {
  const ts = freshTimestamp(timestamp, opts);
  if (ts === null || id === "" || !Buffer.isBuffer(standardKey(secret))) return false;
  const expected = signStandard(secret, id, ts, body);
  return signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .some((s) => sameText(s, expected));
}

// ---- Receivers

/** Request headers as node:http gives them (lower-case keys) or a fetch `Headers`. */
export type WebhookHeaders =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? v.join(" ") : (v as string | undefined);
  }
  return undefined;
}

/**
 * For receivers: true when a wdmesh webhook is authentic and fresh. Checks the
 * Standard Webhooks headers when the request has `webhook-signature` (format: standard),
 * else X-Wdmesh-Timestamp/X-Wdmesh-Signature (format: generic). `body` is the raw body,
 * exactly as received (verify before parsing).
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  opts: VerifyOptions = {},
): boolean {
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  const standard = header(headers, STANDARD_SIGNATURE_HEADER);
  if (standard !== undefined) {
    return verifyStandard(
      secret,
      header(headers, STANDARD_ID_HEADER) ?? "",
      header(headers, STANDARD_TIMESTAMP_HEADER) ?? "",
      text,
      standard,
      opts,
    );
  }
  const sig = header(headers, SIGNATURE_HEADER);
  const ts = header(headers, TIMESTAMP_HEADER);
  return sig !== undefined && ts !== undefined && verifySignature(secret, ts, text, sig, opts);
}
