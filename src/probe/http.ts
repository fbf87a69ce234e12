// HTTP(S) GET for probes, on one shared keep-alive undici Agent.
//
// One deadline covers connect + headers + body: a single timer per request, cleared
// when the verdict is in. At most `maxBodyBytes` of body are read; past that the
// request is aborted (the socket destroyed), so a 1 GiB body costs one 64 KiB read.
// Redirects are never followed. This is the hot path: the request handler is a plain
// object on undici's dispatch API (no streams, no promises per chunk, no header copies).
import { Agent, type Dispatcher } from "undici";
import type { HttpProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import { describeNetError, oneLine, timeoutError, type HttpPhase } from "./errors.js";

/** Default cap of a response body read by a probe, bytes. */
export const DEFAULT_MAX_BODY_BYTES = 65_536;
/** Default bound on pooled keep-alive connections to one origin (scheme://host:port). */
export const DEFAULT_MAX_CONNECTIONS_PER_ORIGIN = 8;

export interface HttpClientOptions {
  /** Cap of a response body, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Pooled connections per origin. Default 8. */
  maxConnectionsPerOrigin?: number;
}

/** A parsed probe target; compiled once per spec object and cached. */
export interface HttpTarget {
  origin: string;
  /** Path + query, starting with "/". */
  path: string;
  /** Host name, for error messages (DNS, TLS). */
  host: string;
  /** Flat [name, value, ...] request headers. */
  headers: string[];
}

/** What an HTTP GET produced. `error` set means a miss. */
export interface HttpOutcome {
  /** Response status, 0 when no response head arrived. */
  status: number;
  /** Collected body (only when asked for and the response completed). */
  body: Buffer | null;
  error?: string;
  duration_ms: number;
}

export interface HttpGetOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Status that counts as success. */
  expectStatus: number;
  /** Keep the body bytes (heartbeat); otherwise they are only counted. */
  collectBody: boolean;
}

const BASE_HEADERS = ["user-agent", "wdmesh-probe/1", "accept", "*/*"];

/** Parses an http(s) URL into a target. Returns an error string instead of throwing. */
export function compileHttpTarget(url: string, headers?: Record<string, string>): HttpTarget | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `invalid URL: ${oneLine(JSON.stringify(url), 120)}`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `invalid URL: scheme ${u.protocol} is not http: or https:`;
  }
  if (u.username || u.password) {
    // Credentials in a URL would end up in endpoints and logs; headers are the place.
    return "invalid URL: credentials in the URL are not allowed; use headers (e.g. Authorization)";
  }
  const flat = BASE_HEADERS.slice();
  if (headers) {
    for (const [k, v] of Object.entries(headers)) {
      const lk = k.toLowerCase();
      const i = flat.indexOf(lk);
      if (i >= 0 && i % 2 === 0) flat[i + 1] = v;
      else flat.push(lk, v);
    }
  }
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  return { origin: u.origin, path: `${u.pathname}${u.search}`, host, headers: flat };
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}

/**
 * One in-flight GET. Implements undici's controller-based dispatch handler and settles
 * exactly once: on completion, error, cap exceeded, deadline, or the caller's abort.
 */
class ProbeRequest implements Dispatcher.DispatchHandler {
  private phase: HttpPhase = "connect";
  private controller: Dispatcher.DispatchController | null = null;
  private done = false;
  private status = 0;
  private statusError: string | undefined;
  private received = 0;
  private chunks: Buffer[] | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly start = performance.now();
  private readonly onAbortSignal: (() => void) | null = null;

  constructor(
    private readonly target: HttpTarget,
    private readonly opts: HttpGetOptions,
    private readonly maxBodyBytes: number,
    private readonly resolve: (o: HttpOutcome) => void,
  ) {
    this.chunks = opts.collectBody ? [] : null;
    this.timer = setTimeout(this.onDeadline, opts.timeoutMs);
    const signal = opts.signal;
    if (signal) {
      this.onAbortSignal = () => this.fail("aborted");
      signal.addEventListener("abort", this.onAbortSignal, { once: true });
    }
  }

  private readonly onDeadline = (): void => {
    this.timer = null;
    this.fail(timeoutError(this.opts.timeoutMs, this.phase));
  };

  /** Settles once; a later abort or undici callback is ignored. */
  private settle(error: string | undefined): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.onAbortSignal) this.opts.signal?.removeEventListener("abort", this.onAbortSignal);
    const body = this.chunks && error === undefined ? Buffer.concat(this.chunks) : null;
    this.chunks = null;
    const out: HttpOutcome = { status: this.status, body, duration_ms: elapsed(this.start) };
    if (error !== undefined) out.error = error;
    this.resolve(out);
  }

  /** Settles as a miss and tears the exchange down (the socket is not reusable). */
  private fail(error: string): void {
    if (this.done) return;
    // A known wrong status is the more useful verdict than what went wrong after it.
    this.settle(this.statusError ?? error);
    // Before onRequestStart there is nothing to abort yet; onRequestStart aborts at once.
    this.controller?.abort(new Error(error));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) {
      controller.abort(new Error("probe already settled"));
      return;
    }
    this.phase = "headers";
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.done) return;
    this.status = statusCode;
    this.phase = "body";
    if (statusCode !== this.opts.expectStatus) {
      this.statusError =
        statusCode >= 300 && statusCode < 400
          ? `status ${statusCode} (expected ${this.opts.expectStatus}), redirects are not followed`
          : `status ${statusCode} (expected ${this.opts.expectStatus})`;
    }
    const cl = headers["content-length"];
    if (typeof cl === "string" && cl.length > 0 && Number(cl) > this.maxBodyBytes) {
      this.fail(`body larger than ${this.maxBodyBytes} bytes`);
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.maxBodyBytes) {
      this.fail(`body larger than ${this.maxBodyBytes} bytes`);
      return;
    }
    this.chunks?.push(chunk);
  }

  onResponseEnd(): void {
    this.settle(this.statusError);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    this.settle(this.statusError ?? describeNetError(err, this.target.host, this.phase, this.opts.timeoutMs));
  }
}

/** HTTP client of the prober: one keep-alive Agent shared by every HTTP and heartbeat probe. */
export class HttpClient {
  private readonly agent: Agent;
  readonly maxBodyBytes: number;
  private closed = false;

  constructor(opts: HttpClientOptions = {}) {
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.agent = new Agent({
      connections: opts.maxConnectionsPerOrigin ?? DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
      pipelining: 1,
      // Idle keep-alive sockets are dropped after 4 s unless the server says longer,
      // which stays below Node's default 5 s server keep-alive timeout.
      keepAliveTimeout: 4_000,
      // Backstop only: the probe's own deadline settles long before this.
      connectTimeout: 30_000,
    });
  }

  /** GET `target` within `opts.timeoutMs`. Never throws, never rejects. */
  get(target: HttpTarget, opts: HttpGetOptions): Promise<HttpOutcome> {
    if (this.closed)
      return Promise.resolve({ status: 0, body: null, error: "prober closed", duration_ms: 0 });
    if (opts.signal?.aborted)
      return Promise.resolve({ status: 0, body: null, error: "aborted", duration_ms: 0 });
    return new Promise<HttpOutcome>((resolve) => {
      const handler = new ProbeRequest(target, opts, this.maxBodyBytes, resolve);
      try {
        this.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: "GET",
            headers: target.headers,
            // Backstops in case an abort is lost; the probe's own timer is authoritative.
            headersTimeout: opts.timeoutMs + 1_000,
            bodyTimeout: opts.timeoutMs + 1_000,
          },
          handler,
        );
      } catch (err) {
        handler.onResponseError(null as unknown as Dispatcher.DispatchController, err as Error);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy, not close: in-flight probes are settled by their own timers, and a
    // hostile peer must not keep the process alive.
    await this.agent.destroy();
  }
}

const targets = new WeakMap<HttpProbeSpec, HttpTarget | string>();

function targetOf(spec: HttpProbeSpec): HttpTarget | string {
  let t = targets.get(spec);
  if (t === undefined) {
    t = compileHttpTarget(spec.url, spec.headers);
    targets.set(spec, t);
  }
  return t;
}

/** HTTP probe: alive when the GET answers `expectStatus` (default 200) within the deadline. */
export async function probeHttp(
  client: HttpClient,
  spec: HttpProbeSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const target = targetOf(spec);
  if (typeof target === "string") return { ok: false, duration_ms: 0, error: target };
  const out = await client.get(target, {
    timeoutMs,
    signal,
    expectStatus: spec.expectStatus ?? 200,
    collectBody: false,
  });
  return out.error === undefined
    ? { ok: true, duration_ms: out.duration_ms }
    : { ok: false, duration_ms: out.duration_ms, error: out.error };
}
