// One HTTP POST to a sink, and what to do about its outcome:
//   2xx                                   → delivered
//   408, 429, 5xx, network error, timeout → retry (Retry-After honoured: seconds or HTTP date)
//   any other status                      → dead ("HTTP 400: <first 200 chars of the body>")
// Error texts name the receiver by scheme://host:port only: userinfo, path and query of a
// sink URL may hold secrets (Slack puts its token in the path), and so may header values.
import { request, type Dispatcher } from "undici";
import { safeOrigin } from "../core/redact.js";

export type DeliveryOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; status?: number; error: string; retryAfterMs?: number }
  | { kind: "dead"; status: number; error: string }
  /** The caller's signal aborted the request (shutdown); nothing is known about delivery. */
  | { kind: "aborted" };

export interface PostRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface DeliverOptions {
  /** Deadline of the whole exchange (connect, headers, body), ms. */
  timeoutMs: number;
  /** Aborts the request (e.g. on stop()). */
  signal?: AbortSignal;
  /** undici dispatcher (an Agent owned by the caller, closed on stop). */
  dispatcher?: Dispatcher;
  /** For Retry-After HTTP dates, epoch ms. Default Date.now(). */
  now?: () => number;
  /**
   * Hides secrets in a rejecting receiver's answer before it is cut to its first
   * REASON_BODY_CHARS characters (cut first, a secret straddling the cut would keep its head).
   */
  redact?: (text: string) => string;
}

/** Longest Retry-After we honour, ms (1 h); a longer one is treated as 1 h. */
export const RETRY_AFTER_MAX_MS = 3_600_000;
/** Characters of a rejecting receiver's body kept in the dead-letter reason. */
export const REASON_BODY_CHARS = 200;
/** Characters of a rejecting receiver's body read (and redacted) before the cut. */
const REASON_READ_CHARS = 4_096;

/** Retry-After (delta seconds or HTTP date) → ms from now, capped; undefined if absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, RETRY_AFTER_MAX_MS);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the receiver",
  EPIPE: "connection closed by the receiver",
  ENOTFOUND: "host not found (DNS)",
  EAI_AGAIN: "DNS lookup failed temporarily",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connect timeout",
  UND_ERR_SOCKET: "connection closed by the receiver",
  UND_ERR_CLOSED: "connection closed",
  CERT_HAS_EXPIRED: "TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate cannot be verified",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host name",
};

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | null;
  if (!e || typeof e !== "object") return undefined;
  if (typeof e.code === "string" && e.code !== "ERR_INVALID_ARG_TYPE") return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  if (e.cause) return errorCode(e.cause);
  return typeof e.code === "string" ? e.code : undefined;
}

/** Words for a network failure; never the raw message (it may echo the URL). */
function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  if (code && NETWORK_ERRORS[code]) return `${NETWORK_ERRORS[code]} (${code})`;
  return code ? `request failed (${code})` : "request failed";
}

/** Splits user:password@ out of a URL into a Basic Authorization header. */
function splitUserinfo(
  url: string,
  headers: Record<string, string>,
): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.username === "" && u.password === "") return { url, headers };
  const auth = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = "";
  u.password = "";
  const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
  return {
    url: u.toString(),
    headers: hasAuth
      ? headers
      : { ...headers, Authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
  };
}

async function readSome(body: Dispatcher.ResponseData["body"], maxChars: number): Promise<string> {
  let text = "";
  try {
    for await (const chunk of body) {
      text += Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk);
      if (text.length >= maxChars) break;
    }
  } catch {
    // A body that fails half-way still gave us its status; the reason is what we have.
  } finally {
    body.destroy();
  }
  return text.slice(0, maxChars);
}

/** POSTs `req` once and classifies the outcome. Never throws. */
export async function deliver(req: PostRequest, opts: DeliverOptions): Promise<DeliveryOutcome> {
  const where = safeOrigin(req.url);
  if (opts.signal?.aborted) return { kind: "aborted" };
  let target: { url: string; headers: Record<string, string> };
  try {
    target = splitUserinfo(req.url, req.headers);
  } catch {
    return {
      kind: "dead",
      status: 0,
      error: `invalid sink URL (${where}); fix the sink's url in the config`,
    };
  }
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  const onAbort = (): void => deadline.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await request(target.url, {
      method: "POST",
      headers: target.headers,
      body: req.body,
      signal: deadline.signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump().catch(() => undefined);
      return { kind: "delivered", status };
    }
    if (isRetryableStatus(status)) {
      await res.body.dump().catch(() => undefined);
      const retryAfterMs = parseRetryAfter(res.headers["retry-after"], (opts.now ?? Date.now)());
      return {
        kind: "retry",
        status,
        error: `HTTP ${status} from ${where}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    // Redact, then cut: a secret is whole in what is redacted.
    const read = await readSome(res.body, REASON_READ_CHARS);
    const text = (opts.redact ? opts.redact(read) : read)
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, REASON_BODY_CHARS);
    return { kind: "dead", status, error: `HTTP ${status}: ${text}` };
  } catch (err) {
    if (opts.signal?.aborted) return { kind: "aborted" };
    if (deadline.signal.aborted) {
      return { kind: "retry", error: `timeout after ${opts.timeoutMs} ms posting to ${where}` };
    }
    return { kind: "retry", error: `${describeNetworkError(err)} posting to ${where}` };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
