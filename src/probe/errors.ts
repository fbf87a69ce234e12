// Turns whatever a probe ran into (node:net and node:http errors, parser errors) into
// one short, stable sentence for ProbeResult.error. Never includes headers or secrets.
import { MESSAGE_DEFAULTS } from "../core/defaults.js";
import type { ProbeCause } from "../core/types.js";

/** Which part of an HTTP exchange the probe was in when it failed. */
export type HttpPhase = "connect" | "headers" | "body";

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  hostname?: unknown;
}

function codeOf(err: unknown): string {
  const e = err as ErrorLike | null;
  if (e && typeof e.code === "string") return e.code;
  return "";
}

function messageOf(err: unknown): string {
  const e = err as ErrorLike | null;
  if (e && typeof e.message === "string") return e.message;
  return String(err);
}

// Terminal escapes and NULs from a peer or a check script must not reach logs or the UI.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** First line of `s`, control characters removed, at most `max` characters. */
export function oneLine(s: string, max: number = MESSAGE_DEFAULTS.lineChars): string {
  const line = s
    .replace(/\r?\n[\s\S]*$/, "")
    .replace(CONTROL_CHARS, "")
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** "timeout after 500 ms (headers)" — the phase names what the peer failed to deliver. */
export function timeoutError(timeoutMs: number, phase?: string): string {
  return phase ? `timeout after ${timeoutMs} ms (${phase})` : `timeout after ${timeoutMs} ms`;
}

/** True when a probe error is its deadline running out (as written by timeoutError). */
export function isTimeoutError(error: string): boolean {
  return error.startsWith("timeout after ");
}

/**
 * errno codes that mean this node ran out of something (file descriptors, buffers,
 * memory, local ports, processes): a syscall of the node's own failing with one says
 * nothing about the peer.
 */
const LOCAL_ERRNOS: ReadonlySet<string> = new Set([
  "EMFILE",
  "ENFILE",
  "ENOBUFS",
  "ENOMEM",
  "EADDRNOTAVAIL",
  "EAGAIN",
]);

/**
 * The `local` cause of an error thrown or emitted by this node's own syscall (socket,
 * connect, write, spawn), read from its typed errno `code` (or its cause's), never from
 * a message; undefined for any other error.
 */
export function localCause(err: unknown): ProbeCause | undefined {
  let code = codeOf(err);
  if (code === "" && (err as ErrorLike | null)?.cause) code = codeOf((err as ErrorLike).cause);
  return LOCAL_ERRNOS.has(code) ? { kind: "local", errno: code } : undefined;
}

/**
 * Describes a network-level failure. `host` names the target for DNS and TLS errors;
 * `phase` distinguishes a reset before the response from one in the middle of the body.
 */
export function describeNetError(err: unknown, host: string, phase: HttpPhase, timeoutMs: number): string {
  let code = codeOf(err);
  // A wrapped socket error: the cause carries the errno code.
  if (code === "" && (err as ErrorLike | null)?.cause) {
    const inner = codeOf((err as ErrorLike).cause);
    if (inner.startsWith("E")) code = inner;
  }
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
    case "EPIPE":
      return phase === "body" ? "connection reset (during body)" : "connection reset";
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NODATA":
    case "EAI_NONAME":
      return `DNS lookup failed: ${host} (${code})`;
    case "EHOSTUNREACH":
      return "host unreachable";
    case "ENETUNREACH":
      return "network unreachable";
    case "EADDRNOTAVAIL":
      return "address not available (EADDRNOTAVAIL)";
    case "ETIMEDOUT":
      return timeoutError(timeoutMs, "connect");
    case "ERR_INVALID_HTTP_TOKEN":
    case "ERR_INVALID_CHAR":
    case "ERR_UNESCAPED_CHARACTERS":
      return `invalid request: ${oneLine(messageOf(err))}`;
    default:
      break;
  }
  // node:http's parser errors: "Parse Error: Expected HTTP/" with code HPE_….
  if (code.startsWith("HPE_")) {
    const msg = messageOf(err);
    const reason = /\((.*)\)\s*$/.exec(msg)?.[1] ?? msg;
    return reason ? `invalid HTTP response: ${oneLine(reason, 120)}` : "invalid HTTP response";
  }
  if (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) {
    return `TLS error: ${code}`;
  }
  return code ? `${oneLine(messageOf(err), 160)} (${code})` : oneLine(messageOf(err), 160);
}
