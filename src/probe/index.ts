// The prober: dispatches a ProbeSpec to its kind (http, tcp, exec, heartbeat). One
// shared keep-alive HTTP client serves http and heartbeat probes.
import { redactUrl } from "../core/redact.js";
import { InvalidOptionError } from "../core/errors.js";
import { PROBE_DEFAULTS } from "../core/defaults.js";
import type { ProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import { oneLine } from "./errors.js";
import { containerEndpoint, probeContainer } from "./container.js";
import { probeExec } from "./exec.js";
import { probeHeartbeat, heartbeatUrl } from "./heartbeat.js";
import { HttpClient, probeHttp } from "./http.js";
import type { Prober } from "./prober.js";
import { probeTcp } from "./tcp.js";

export type { Prober } from "./prober.js";
export { heartbeatProof, verifyHeartbeatProof } from "./heartbeat-proof.js";

export interface ProberOptions {
  /** Cap of an HTTP/heartbeat response body, bytes; a larger body is a miss. Default 65536. */
  maxBodyBytes?: number;
  /** Pooled keep-alive connections per origin (scheme://host:port). Default 8. */
  maxConnectionsPerOrigin?: number;
}

/**
 * A probe that threw or rejected: a fault of this node's own prober, which says nothing
 * about the peer, so the result is inconclusive rather than a miss.
 */
function proberFault(err: unknown): ProbeResult {
  const why = err instanceof Error ? err.message : String(err);
  return { ok: false, duration_ms: 0, error: `probe failed: ${oneLine(why)}`, cause: { kind: "prober" } };
}

function positiveInt(v: number | undefined, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new InvalidOptionError(`prober.${field}`, `must be an integer >= 1 (got ${String(v)})`);
  }
  return v;
}

class DefaultProber implements Prober {
  private readonly http: HttpClient;
  private closed = false;

  constructor(opts: ProberOptions) {
    this.http = new HttpClient({
      maxBodyBytes: positiveInt(opts.maxBodyBytes, "maxBodyBytes", PROBE_DEFAULTS.maxBodyBytes),
      maxConnectionsPerOrigin: positiveInt(
        opts.maxConnectionsPerOrigin,
        "maxConnectionsPerOrigin",
        PROBE_DEFAULTS.maxConnectionsPerOrigin,
      ),
    });
  }

  probe(spec: ProbeSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    if (this.closed) return Promise.resolve({ ok: false, duration_ms: 0, error: "prober closed" });
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.resolve({ ok: false, duration_ms: 0, error: `invalid timeout ${String(timeoutMs)} ms` });
    }
    return this.run(spec, Math.ceil(timeoutMs), signal).catch(proberFault);
  }

  private run(spec: ProbeSpec, ms: number, signal?: AbortSignal): Promise<ProbeResult> {
    try {
      if ("http" in spec) return probeHttp(this.http, spec.http, ms, signal);
      if ("heartbeat" in spec) return probeHeartbeat(this.http, spec.heartbeat, ms, signal);
      if ("tcp" in spec) return probeTcp(spec.tcp, ms, signal);
      if ("exec" in spec) return probeExec(spec.exec, ms, signal);
      if ("container" in spec) return probeContainer(spec.container, ms, signal);
    } catch (err) {
      // Defensive: a probe reports the peer's failures in its result; nothing should reach here.
      return Promise.resolve(proberFault(err));
    }
    return Promise.resolve({ ok: false, duration_ms: 0, error: "unknown probe kind" });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.http.close();
  }
}

/**
 * Creates the prober used by the Monitor. Throws InvalidOptionError (code WDM_INVALID_OPTION) for invalid options;
 * `probe()` itself never throws: every failure is a miss with a precise `error`.
 */
export function createProber(opts: ProberOptions = {}): Prober {
  return new DefaultProber(opts);
}

/** Human-readable endpoint for PeerHealth.endpoint: URL, tcp://host:port, exec:argv0. */
export function probeEndpoint(spec: ProbeSpec): string {
  if ("http" in spec) return redactUrl(spec.http.url);
  if ("heartbeat" in spec) return heartbeatUrl(spec.heartbeat.url);
  if ("tcp" in spec) {
    const h = spec.tcp.host.includes(":") ? `[${spec.tcp.host}]` : spec.tcp.host;
    return `tcp://${h}:${spec.tcp.port}`;
  }
  if ("exec" in spec) return `exec:${spec.exec.argv[0] ?? ""}`;
  if ("container" in spec) return containerEndpoint(spec.container);
  return "unknown";
}

export { redactUrl } from "../core/redact.js";

/** Host and port a probe talks to (used to verify network isolation); {} for exec. */
export function probeTarget(spec: ProbeSpec): { host?: string; port?: number } {
  if ("tcp" in spec) return { host: spec.tcp.host, port: spec.tcp.port };
  if ("exec" in spec || "container" in spec) return {};
  const url = "http" in spec ? spec.http.url : "heartbeat" in spec ? spec.heartbeat.url : undefined;
  if (url === undefined) return {};
  try {
    const u = new URL(url);
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    const port = u.port
      ? Number(u.port)
      : u.protocol === "https:"
        ? 443
        : u.protocol === "http:"
          ? 80
          : undefined;
    return port === undefined ? { host } : { host, port };
  } catch {
    return {};
  }
}
