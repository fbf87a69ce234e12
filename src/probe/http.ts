// HTTP(S) GET for probes, on node:http with one keep-alive Agent per client.
//
// One deadline covers connect + headers + body: a single timer per request, started when
// the request is sent and cleared when the verdict is in. Time spent waiting in this
// client's queue behind other requests to the origin is not counted against it: the wait
// has its own bound (10 % of the deadline, so a probe takes at most deadline × 1.1), and
// running out there is inconclusive (cause `queued`: the peer was never asked). At most `maxBodyBytes` of body are read; past that
// the request is destroyed (the socket with it), so a 1 GiB body costs one 64 KiB read.
// Redirects are never followed.
//
// Why node:http and not undici: an embedded watchdog lives in someone else's process,
// and node:http is already loaded there (the agent serves the mesh routes with it),
// while undici's Client alone added ~8 MB of RSS (bench/embed-cost.ts). node:https is
// loaded only when an https:// target is probed.
//
// Connections: at most `maxConnectionsPerOrigin` requests run at once per origin
// (scheme://host:port); more wait in this client's own queue (not the Agent's, so that
// close() settles them and no socket is opened after it). Idle keep-alive sockets are
// dropped after 4 s (or sooner when the server announces a shorter keep-alive), so a
// dead peer holds nothing.
import {
  Agent,
  request as httpRequest,
  validateHeaderName,
  validateHeaderValue,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import type { Socket } from "node:net";
import type { HttpProbeSpec } from "../core/options.js";
import type { ProbeCause, ProbeResult } from "../core/types.js";
import { describeNetError, localCause, oneLine, timeoutError, type HttpPhase } from "./errors.js";
import { PROBE_DEFAULTS } from "../core/defaults.js";

/** Idle keep-alive sockets are closed after this, ms (below Node's default 5 s server keep-alive). */
const IDLE_SOCKET_MS = 4_000;

export interface HttpClientOptions {
  /** Cap of a response body, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Keep-alive connections per origin (scheme://host:port), opened on demand. Default 8. */
  maxConnectionsPerOrigin?: number;
}

/** A parsed probe target; compiled once per spec object and cached. */
export interface HttpTarget {
  origin: string;
  /** "http:" or "https:". */
  protocol: string;
  /** Host name or address (IPv6 without brackets): what is connected to, and named in DNS/TLS errors. */
  host: string;
  port: number;
  /** Path + query, starting with "/". */
  path: string;
  /** Flat [name, value, ...] request headers, Host included, validated. */
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
  /** The response's Date header, when HttpGetOptions.keepDate asked for it and it is present. */
  date?: string;
  error?: string;
  /** Set when the failure says nothing about the peer: it was never asked (`queued`), or this node's own syscall failed (`local`). */
  cause?: ProbeCause;
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
  /** Keep the response's Date header, whatever the status (a mesh member's clock). */
  keepDate?: boolean;
}

const BASE_HEADERS = ["user-agent", "wdmesh-probe/1", "accept", "*/*"];

/** Why a header cannot be sent, or undefined. Names the header, never its value (it may be a secret). */
function headerProblem(name: string, value: string): string | undefined {
  try {
    validateHeaderName(name);
  } catch {
    return `invalid request: invalid header key ${JSON.stringify(oneLine(name, 64))}`;
  }
  try {
    validateHeaderValue(name, value);
  } catch {
    return `invalid request: invalid header value of ${JSON.stringify(oneLine(name, 64))}`;
  }
  return undefined;
}

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
  const flat = ["host", u.host, ...BASE_HEADERS];
  if (headers) {
    for (const [k, v] of Object.entries(headers)) {
      const problem = headerProblem(k, v);
      if (problem !== undefined) return problem;
      const lk = k.toLowerCase();
      const i = flat.indexOf(lk);
      if (i >= 0 && i % 2 === 0) flat[i + 1] = v;
      else flat.push(lk, v);
    }
  }
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return {
    origin: u.origin,
    protocol: u.protocol,
    host,
    port,
    path: `${u.pathname}${u.search}`,
    headers: flat,
  };
}

/** The options of a GET of `t` on `agent` (false: a socket of its own); Host comes with the target's headers. */
export function getOptions(t: HttpTarget, agent: Agent | false): RequestOptions {
  return {
    agent,
    protocol: t.protocol,
    host: t.host,
    port: t.port,
    path: t.path,
    method: "GET",
    headers: t.headers,
    setHost: false,
  } as unknown as RequestOptions;
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
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

/** Requests running and waiting for one origin. */
interface OriginSlot {
  running: number;
  readonly waiting: ProbeRequest[];
}

/**
 * One GET, from the queue to its verdict. Settles exactly once: on completion, error,
 * cap exceeded, deadline, the caller's abort, or the client's close.
 */
class ProbeRequest {
  private phase: HttpPhase = "connect";
  private req: ClientRequest | null = null;
  private done = false;
  private status = 0;
  private statusError: string | undefined;
  private received = 0;
  private header: string | undefined;
  private date: string | undefined;
  private chunks: Buffer[] | null;
  private timer: NodeJS.Timeout | null = null;
  /** The peer's deadline runs (set once, when first sent; a resend keeps it). */
  private deadlineStarted = false;
  /** Waiting in this client's queue for a slot of its origin (not sent yet). */
  queued = false;
  /** A reset of a reused keep-alive socket before any answer is retried once on a fresh one. */
  private retried = false;
  /** When the request was sent (its deadline started), or created while it waits: duration_ms counts from here. */
  private start = performance.now();

  constructor(
    readonly target: HttpTarget,
    private readonly opts: HttpGetOptions,
    private readonly client: HttpClient,
    private readonly resolve: (o: HttpOutcome) => void,
  ) {
    this.chunks = opts.collectBody ? [] : null;
    if (opts.signal) watchSignal(opts.signal, this);
  }

  /** Waits behind other requests to its origin, for at most a tenth of its deadline. */
  waitInQueue(): void {
    this.queued = true;
    this.timer = setTimeout(this.onQueueBound, this.queueBoundMs());
  }

  private queueBoundMs(): number {
    return Math.max(1, Math.round(this.opts.timeoutMs * PROBE_DEFAULTS.queueWaitFraction));
  }

  /** Leaves the queue (if it waited) and starts the peer's deadline, once. */
  startDeadline(): void {
    this.queued = false;
    if (this.deadlineStarted || this.done) return;
    this.deadlineStarted = true;
    if (this.timer) clearTimeout(this.timer);
    this.start = performance.now();
    this.timer = setTimeout(this.onDeadline, this.opts.timeoutMs);
  }

  private readonly onDeadline = (): void => {
    this.timer = null;
    this.fail(timeoutError(this.opts.timeoutMs, this.phase));
  };

  /** Still waiting behind other requests to its origin: this peer was never asked. */
  private readonly onQueueBound = (): void => {
    this.timer = null;
    if (this.queued) {
      const error = `not sent: queued ${this.queueBoundMs()} ms behind other requests to ${this.target.origin} (queued)`;
      this.settle(error, { kind: "queued" });
    }
  };

  /** The caller's signal aborted. */
  abort(): void {
    this.fail("aborted");
  }

  /** Sends the request on `agent` (a free keep-alive socket, or a new one). */
  send(agent: Agent): void {
    if (this.done) return;
    const t = this.target;
    const options = {
      ...getOptions(t, agent),
      // One pool of keep-alive sockets per Host and path of an origin: bytes left on a
      // socket by another peer's endpoint never answer this one (see newAgent).
      poolKey: poolKeyOf(t),
    } as RequestOptions;
    let req: ClientRequest;
    try {
      req = httpRequest(options);
    } catch (err) {
      this.fail(describeNetError(err, t.host, this.phase, this.opts.timeoutMs), localCause(err));
      return;
    }
    this.req = req;
    req.on("socket", this.onSocket);
    req.on("response", this.onResponse);
    req.on("error", this.onError);
    req.end();
  }

  private readonly onSocket = (socket: Socket): void => {
    if (!socket.connecting) this.phase = "headers";
    else socket.once("connect", () => this.phase === "connect" && (this.phase = "headers"));
  };

  private readonly onResponse = (res: IncomingMessage): void => {
    if (this.done) {
      res.destroy();
      return;
    }
    const statusCode = res.statusCode ?? 0;
    this.status = statusCode;
    this.phase = "body";
    if (statusCode !== this.opts.expectStatus) {
      this.statusError =
        statusCode >= 300 && statusCode < 400
          ? `status ${statusCode} (expected ${this.opts.expectStatus}), redirects are not followed`
          : `status ${statusCode} (expected ${this.opts.expectStatus})`;
    }
    if (this.opts.header !== undefined) {
      const h = res.headers[this.opts.header];
      if (typeof h === "string") this.header = h;
    }
    if (this.opts.keepDate === true && typeof res.headers.date === "string") this.date = res.headers.date;
    const cl = res.headers["content-length"];
    if (typeof cl === "string" && cl.length > 0 && Number(cl) > this.client.maxBodyBytes) {
      this.fail(`body larger than ${this.client.maxBodyBytes} bytes`);
      return;
    }
    res.on("data", this.onData);
    res.on("end", this.onEnd);
    res.on("error", this.onError);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    this.received += chunk.length;
    if (this.received > this.client.maxBodyBytes) {
      this.fail(`body larger than ${this.client.maxBodyBytes} bytes`);
      return;
    }
    this.chunks?.push(chunk);
  };

  private readonly onEnd = (): void => {
    this.settle(this.statusError);
  };

  private readonly onError = (err: Error): void => {
    if (this.done) return;
    const code = (err as { code?: unknown }).code;
    if (
      this.req?.reusedSocket === true &&
      this.status === 0 &&
      !this.retried &&
      (code === "ECONNRESET" || code === "EPIPE")
    ) {
      // The server closed the idle socket as it was reused: not the peer's failure.
      this.retried = true;
      this.req = null;
      this.phase = "connect";
      this.client.resend(this);
      return;
    }
    if (this.statusError !== undefined) this.settle(this.statusError);
    else
      this.settle(describeNetError(err, this.target.host, this.phase, this.opts.timeoutMs), localCause(err));
  };

  /** Settles once; a later abort or socket event is ignored. */
  private settle(error: string | undefined, cause?: ProbeCause): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.opts.signal) inflightBySignal.get(this.opts.signal)?.delete(this);
    const body = this.chunks && error === undefined ? Buffer.concat(this.chunks) : null;
    this.chunks = null;
    const out: HttpOutcome = { status: this.status, body, duration_ms: elapsed(this.start) };
    if (this.header !== undefined) out.header = this.header;
    if (this.date !== undefined) out.date = this.date;
    if (error !== undefined) out.error = error;
    if (error !== undefined && cause !== undefined) out.cause = cause;
    this.client.finished(this);
    this.resolve(out);
  }

  /** Settles as a miss and tears the exchange down (the socket is not reusable). */
  fail(error: string, cause?: ProbeCause): void {
    if (this.done) return;
    // A known wrong status is the more useful verdict than what went wrong after it.
    if (this.statusError !== undefined) this.settle(this.statusError);
    else this.settle(error, cause);
    this.req?.destroy();
  }
}

/** HTTP client of the prober: keep-alive sockets per origin, shared by every HTTP and heartbeat probe. */
export class HttpClient {
  readonly maxBodyBytes: number;
  private readonly maxPerOrigin: number;
  private readonly slots = new Map<string, OriginSlot>();
  /** Every request not yet settled (running or waiting), for close(). */
  private readonly pending = new Set<ProbeRequest>();
  private httpAgent: Agent | null = null;
  private httpsAgent: Agent | null = null;
  private httpsLoading: Promise<Agent> | null = null;
  private closed = false;

  constructor(opts: HttpClientOptions = {}) {
    this.maxBodyBytes = opts.maxBodyBytes ?? PROBE_DEFAULTS.maxBodyBytes;
    this.maxPerOrigin = opts.maxConnectionsPerOrigin ?? PROBE_DEFAULTS.maxConnectionsPerOrigin;
  }

  /** Open sockets (busy and idle) across all origins; for tests and diagnostics. */
  get laneCount(): number {
    let n = 0;
    for (const agent of [this.httpAgent, this.httpsAgent]) {
      if (agent === null) continue;
      for (const list of Object.values(agent.sockets)) n += list?.length ?? 0;
      for (const list of Object.values(agent.freeSockets)) n += list?.length ?? 0;
    }
    return n;
  }

  /** GET `target` within `opts.timeoutMs`. Never throws, never rejects. */
  get(target: HttpTarget, opts: HttpGetOptions): Promise<HttpOutcome> {
    if (this.closed)
      return Promise.resolve({ status: 0, body: null, error: "prober closed", duration_ms: 0 });
    if (opts.signal?.aborted)
      return Promise.resolve({ status: 0, body: null, error: "aborted", duration_ms: 0 });
    return new Promise<HttpOutcome>((resolve) => {
      const r = new ProbeRequest(target, opts, this, resolve);
      this.pending.add(r);
      let slot = this.slots.get(target.origin);
      if (slot === undefined) {
        slot = { running: 0, waiting: [] };
        this.slots.set(target.origin, slot);
      }
      if (slot.running >= this.maxPerOrigin) {
        r.waitInQueue();
        slot.waiting.push(r);
        return;
      }
      slot.running++;
      this.dispatch(r);
    });
  }

  /** Sends a request that holds a running slot of its origin. */
  private dispatch(r: ProbeRequest): void {
    r.startDeadline();
    if (r.target.protocol === "http:") {
      this.httpAgent ??= newAgent(Agent);
      r.send(this.httpAgent);
      return;
    }
    if (this.httpsAgent !== null) {
      r.send(this.httpsAgent);
      return;
    }
    this.httpsLoading ??= import("node:https").then((https) => {
      this.httpsAgent = newAgent(https.Agent);
      return this.httpsAgent;
    });
    this.httpsLoading.then(
      (agent) => (this.closed ? r.fail("prober closed") : r.send(agent)),
      (err: unknown) => r.fail(`https unavailable: ${oneLine(String(err))}`),
    );
  }

  /** Sends `r` again (its reused socket was closed under it); it keeps its slot and deadline. */
  resend(r: ProbeRequest): void {
    if (this.closed) r.fail("prober closed");
    else this.dispatch(r);
  }

  /** Called once by every request as it settles: frees its slot for the next waiting one. */
  finished(r: ProbeRequest): void {
    if (!this.pending.delete(r)) return;
    const slot = this.slots.get(r.target.origin);
    if (slot === undefined) return;
    const w = slot.waiting.indexOf(r);
    if (w >= 0) {
      slot.waiting.splice(w, 1);
    } else {
      slot.running--;
      const next = slot.waiting.shift();
      if (next !== undefined && !this.closed) {
        slot.running++;
        next.startDeadline(); // it holds a slot now: its wait in the queue is over
        // On the next turn: Node hands the finished socket back to the Agent's free list
        // on the next tick, so the waiting request reuses it instead of opening another.
        setImmediate(() => this.dispatch(next));
      }
    }
    if (slot.running === 0 && slot.waiting.length === 0) this.slots.delete(r.target.origin);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // In-flight and waiting probes are settled now; a hostile peer must not keep the
    // process alive, and nothing is sent after close.
    for (const r of [...this.pending]) r.fail("prober closed");
    this.pending.clear();
    this.slots.clear();
    // Every socket, busy or idle, is destroyed; close() resolves once they are closed.
    // A socket still listed by its Agent has not emitted "close" yet (the Agent's own
    // listener, registered first, unlists it).
    const closing: Array<Promise<void>> = [];
    for (const agent of [this.httpAgent, this.httpsAgent]) {
      if (agent === null) continue;
      for (const lists of [agent.sockets, agent.freeSockets])
        for (const list of Object.values(lists))
          for (const socket of list ?? []) closing.push(new Promise((r) => socket.once("close", () => r())));
      agent.destroy();
    }
    await Promise.all(closing);
  }
}

/**
 * A keep-alive Agent; requests are bounded per origin by HttpClient, not by the Agent.
 * Its sockets are pooled per `poolKey` (a peer's path and headers) as well as per origin:
 * peers on one host:port never share a socket, so an unsolicited response one endpoint
 * leaves on a socket cannot be read as another's answer.
 */
function newAgent(Ctor: typeof Agent): Agent {
  const agent = new Ctor({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: "lifo" });
  const name = agent.getName.bind(agent);
  agent.getName = (o) => `${name(o)}|${(o as { poolKey?: string } | undefined)?.poolKey ?? ""}`;
  return agent;
}

/**
 * The pool of a target: its Host and its path without the query (a heartbeat's or a view's
 * nonce), so one peer's repeated requests share their keep-alive sockets.
 */
function poolKeyOf(t: HttpTarget): string {
  const q = t.path.indexOf("?");
  const h = t.headers.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === "host");
  return `${h === -1 ? "" : t.headers[h + 1]} ${q === -1 ? t.path : t.path.slice(0, q)}`;
}

/** The ProbeResult of a GET that failed with `error`, with the outcome's typed cause when it has one. */
export function failedGet(out: HttpOutcome, error: string): ProbeResult {
  const r: ProbeResult = { ok: false, duration_ms: out.duration_ms, error };
  if (out.cause !== undefined) r.cause = out.cause;
  return r;
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
  return out.error === undefined ? { ok: true, duration_ms: out.duration_ms } : failedGet(out, out.error);
}
