// Small rules of the config file's own syntax: header names, URLs and listen addresses.
// The rules it shares with the library (names, durations, systemd units, argv, bounds)
// are written once in core/rules.ts.
/** A parsed mapping of the config (a plain object, not an array). */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

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
