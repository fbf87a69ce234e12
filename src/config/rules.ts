// Small shared rules of the config file: name, duration, URL, unit and listen syntax.
// Used by the zod schema (schema.ts) and by the cross-field checks (cross-checks.ts).

/** Names of nodes, peers, mesh members and alert sinks: lowercase, DNS-label-like. */
export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const NAME_HELP = 'use 1-63 of a-z 0-9 _ . - starting with a letter or digit, e.g. "sidecar"';

/** The duration grammar of core/duration.ts: "0" or <number><unit>… with units ms s m h d. */
export const DURATION_RE = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/;
export const DURATION_HELP =
  'must be a duration such as "500ms", "30s", "5m", "1h", "1m30s", or a whole number of milliseconds (>= 0)';

/** systemd unit types a unit name may end in. */
export const UNIT_SUFFIXES = [
  "service",
  "socket",
  "device",
  "mount",
  "automount",
  "swap",
  "target",
  "path",
  "timer",
  "slice",
  "scope",
] as const;
/** systemd unit name: [A-Za-z0-9:_.\\-] with at most one @ followed by a non-empty instance, then a known suffix; max 255. */
export const UNIT_RE = new RegExp(
  `^(?=.{1,255}$)[A-Za-z0-9:_.\\\\-]+(?:@[A-Za-z0-9:_.\\\\-]+)?\\.(?:${UNIT_SUFFIXES.join("|")})$`,
);

/** RFC 7230 header field name. */
export const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    return false;
  }
}

export interface ListenAddress {
  /** Host without brackets ("127.0.0.1", "::1", "localhost", "0.0.0.0"). */
  host: string;
  /** TCP port; 0 lets the OS pick one (tests). */
  port: number;
}

/** "host:port" or "[v6]:port"; undefined when malformed. */
export function parseListen(s: string): ListenAddress | undefined {
  const m =
    /^\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)\]:(\d{1,5})$/.exec(s) ??
    /^([A-Za-z0-9_.-]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1] as string, port };
}

export { isLoopbackHost } from "../core/loopback.js";
