// HTTP(S) GET for probes, on keep-alive undici Clients (one socket each), pooled per origin.
//
// One deadline covers connect + headers + body: a single timer per request, cleared
// when the verdict is in. At most `maxBodyBytes` of body are read; past that the
// request is aborted (the socket destroyed), so a 1 GiB body costs one 64 KiB read.
// Redirects are never followed. This is the hot path: the request handler is a plain
// object on undici's dispatch API (no streams, no promises per chunk, no header copies).
//
// Memory: an undici Agent keeps a Pool per origin, and every Pool preallocates a
// 2048-slot request queue (~16 KiB) on top of its Client. Watching 1,000 peers that
// are each their own host:port, that alone was ~20 MB of live heap. So the client
// keeps, per origin, a short list of single-socket Clients ("lanes") and picks an idle
// one; a lane whose socket closes while idle is dropped, so dead peers hold nothing.
import { createRequire } from "node:module";
import type { Client as UndiciClient, Dispatcher } from "undici";
import type { HttpProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import { describeNetError, oneLine, timeoutError, type HttpPhase } from "./errors.js";
import { PROBE_DEFAULTS } from "../core/defaults.js";

/**
 * undici's Client class. Its own module is loaded rather than undici's index, which also
 * builds fetch, WebSocket, caches and mock agents: ~10 MB of RSS a watchdog never uses
 * (bench/monitor-soak.mjs). undici 7 has no "exports" map, so the path is reachable; if a
 * release moves it, the public export is used instead.
 */
const Client: typeof UndiciClient = loadClient();

function loadClient(): typeof UndiciClient {
  const require = createRequire(import.meta.url);
  try {
    return require("undici/lib/dispatcher/client.js") as typeof UndiciClient;
  } catch {
    return (require("undici") as { Client: typeof UndiciClient }).Client;
  }
}

/** Default cap of a response body read by a probe, bytes. */
export const DEFAULT_MAX_BODY_BYTES = PROBE_DEFAULTS.maxBodyBytes;
/** Default bound on keep-alive connections to one origin (scheme://host:port). */
export const DEFAULT_MAX_CONNECTIONS_PER_ORIGIN = PROBE_DEFAULTS.maxConnectionsPerOrigin;

export interface HttpClientOptions {
  /** Cap of a response body, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Keep-alive connections per origin (scheme://host:port), opened on demand. Default 8. */
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
  /** Value of the response header named by HttpGetOptions.header, when asked for and present. */
  header?: string;
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
  /** Lower-case name of one response header to keep (a mesh view's proof). */
  header?: string;
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

/** One keep-alive socket to an origin; `busy` counts probes dispatched and not yet settled. */
interface Lane {
  readonly client: UndiciClient;
  busy: number;
}

/**
 * Probes in flight per caller signal. Callers (the Monitor) pass one signal for all
 * their probes; a single listener per signal aborts them all, instead of one
 * closure + listener per probe and an O(n) removeEventListener at every settle.
 */
const inflightBySignal = new WeakMap<AbortSignal, Set<ProbeRequest>>();

function watchSignal(signal: AbortSignal, req: ProbeRequest): void {
  let set = inflightBySignal.get(signal);
  if (set === undefined) {
    const created = new Set<ProbeRequest>();
    set = created;
    inflightBySignal.set(signal, created);
    signal.addEventListener(
      "abort",
      () => {
        for (const r of [...created]) r.abort();
        created.clear();
      },
      { once: true },
    );
  }
  set.add(req);
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
  private header: string | undefined;
  private chunks: Buffer[] | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly start = performance.now();

  constructor(
    private readonly target: HttpTarget,
    private readonly opts: HttpGetOptions,
    private readonly maxBodyBytes: number,
    private readonly lane: Lane,
    private readonly resolve: (o: HttpOutcome) => void,
  ) {
    lane.busy++;
    this.chunks = opts.collectBody ? [] : null;
    this.timer = setTimeout(this.onDeadline, opts.timeoutMs);
    if (opts.signal) watchSignal(opts.signal, this);
  }

  private readonly onDeadline = (): void => {
    this.timer = null;
    this.fail(timeoutError(this.opts.timeoutMs, this.phase));
  };

  /** The caller's signal aborted. */
  abort(): void {
    this.fail("aborted");
  }

  /** Settles once; a later abort or undici callback is ignored. */
  private settle(error: string | undefined): void {
    if (this.done) return;
    this.done = true;
    this.lane.busy--;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.opts.signal) inflightBySignal.get(this.opts.signal)?.delete(this);
    const body = this.chunks && error === undefined ? Buffer.concat(this.chunks) : null;
    this.chunks = null;
    const out: HttpOutcome = { status: this.status, body, duration_ms: elapsed(this.start) };
    if (this.header !== undefined) out.header = this.header;
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
    if (this.opts.header !== undefined) {
      const h = headers[this.opts.header];
      if (typeof h === "string") this.header = h;
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

/** HTTP client of the prober: keep-alive lanes per origin, shared by every HTTP and heartbeat probe. */
export class HttpClient {
  private readonly origins = new Map<string, Lane[]>();
  readonly maxBodyBytes: number;
  private readonly maxLanes: number;
  private closed = false;

  constructor(opts: HttpClientOptions = {}) {
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxLanes = opts.maxConnectionsPerOrigin ?? DEFAULT_MAX_CONNECTIONS_PER_ORIGIN;
  }

  /** Open lanes (keep-alive Clients) across all origins; for tests and diagnostics. */
  get laneCount(): number {
    let n = 0;
    for (const lanes of this.origins.values()) n += lanes.length;
    return n;
  }

  /** An idle lane to `origin`, else a new one while under the cap, else the least busy. */
  private laneFor(origin: string): Lane {
    let lanes = this.origins.get(origin);
    if (lanes === undefined) {
      lanes = [];
      this.origins.set(origin, lanes);
    }
    let best: Lane | undefined;
    for (const l of lanes) {
      if (l.busy === 0) return l;
      if (best === undefined || l.busy < best.busy) best = l;
    }
    if (best !== undefined && lanes.length >= this.maxLanes) return best;
    return this.openLane(origin, lanes);
  }

  private openLane(origin: string, lanes: Lane[]): Lane {
    const client = new Client(origin, {
      pipelining: 1,
      // Idle keep-alive sockets are dropped after 4 s unless the server says longer,
      // which stays below Node's default 5 s server keep-alive timeout.
      keepAliveTimeout: 4_000,
      // Backstop only: the probe's own deadline settles long before this.
      connectTimeout: 30_000,
    });
    const lane: Lane = { client, busy: 0 };
    // A lane whose socket is gone and that has nothing queued is dropped: the next
    // probe opens a fresh one, and an origin nobody probes any more holds nothing.
    const dropIfIdle = (): void => {
      if (lane.busy !== 0 || this.closed) return;
      const i = lanes.indexOf(lane);
      if (i < 0) return;
      lanes.splice(i, 1);
      if (lanes.length === 0 && this.origins.get(origin) === lanes) this.origins.delete(origin);
      client.destroy().catch(() => {});
    };
    client.on("disconnect", dropIfIdle);
    client.on("connectionError", dropIfIdle);
    lanes.push(lane);
    return lane;
  }

  /** GET `target` within `opts.timeoutMs`. Never throws, never rejects. */
  get(target: HttpTarget, opts: HttpGetOptions): Promise<HttpOutcome> {
    if (this.closed)
      return Promise.resolve({ status: 0, body: null, error: "prober closed", duration_ms: 0 });
    if (opts.signal?.aborted)
      return Promise.resolve({ status: 0, body: null, error: "aborted", duration_ms: 0 });
    return new Promise<HttpOutcome>((resolve) => {
      const lane = this.laneFor(target.origin);
      const handler = new ProbeRequest(target, opts, this.maxBodyBytes, lane, resolve);
      try {
        lane.client.dispatch(
          {
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
    const all: Array<Promise<void>> = [];
    for (const lanes of this.origins.values()) for (const l of lanes) all.push(l.client.destroy());
    this.origins.clear();
    await Promise.allSettled(all);
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
    expectStatus: spec.expectStatus ?? PROBE_DEFAULTS.expectStatus,
    collectBody: false,
  });
  return out.error === undefined
    ? { ok: true, duration_ms: out.duration_ms }
    : { ok: false, duration_ms: out.duration_ms, error: out.error };
}
