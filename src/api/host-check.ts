// DNS-rebinding and cross-site protection. A browser page from another site can make
// the operator's browser send requests to this node (its name rebound to 127.0.0.1, or
// a form posted to it); such requests carry that site's name in `Host` or `Origin`.
// So a request is served only when its Host names this node: its listen address, the
// local address the connection arrived on, a loopback name, or one of node.hostnames.
// Control routes also refuse an `Origin` that is not this node.
import type { IncomingMessage } from "node:http";
import { isLoopbackHost } from "../core/loopback.js";

/** The host part of a Host header or an origin's authority ("[::1]:80" → "::1"), lowercased. */
export function hostOnly(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) {
    const end = a.indexOf("]");
    return end < 0 ? a : a.slice(1, end);
  }
  const colon = a.lastIndexOf(":");
  return colon < 0 ? a : a.slice(0, colon);
}

const WILDCARDS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0", ""]);

const unmapped = (addr: string): string => addr.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");

export class HostPolicy {
  private readonly names = new Set<string>();

  constructor(hostnames: readonly string[] = []) {
    for (const h of hostnames) this.names.add(h.toLowerCase());
  }

  /** Adds the bound listen host (a wildcard address adds nothing: the local address is used). */
  addListenHost(host: string): void {
    const h = unmapped(host);
    if (!WILDCARDS.has(h)) this.names.add(h);
  }

  private allowedName(h: string, req: IncomingMessage): boolean {
    if (isLoopbackHost(h) || this.names.has(h)) return true;
    const local = req.socket.localAddress;
    return local !== undefined && unmapped(local) === unmapped(h);
  }

  /** True when the Host header names this node (or is absent: HTTP/1.0 clients, no browser). */
  allowsHost(req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (host === undefined) return true;
    return this.allowedName(hostOnly(host), req);
  }

  /** True when there is no Origin, or it is this node's own origin (the dashboard). */
  allowsOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false; // "null" (sandboxed frames, file:) and garbage
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") return false;
    const host = req.headers.host;
    if (host === undefined) return false;
    let want: string;
    try {
      want = new URL(`${u.protocol}//${host.trim()}`).host;
    } catch {
      return false;
    }
    return u.host === want && this.allowsHost(req);
  }
}
