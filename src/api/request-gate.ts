// Keeps the API from becoming an off-switch: no client can make this node too slow to
// probe (and so degraded, holding remediation, or marked OFFLINE by its members).
//  - One request per connection at a time: a pipelined request waits until the answer
//    before it is finished. Requests are counted in the bytes as they arrive, before
//    node's HTTP parser sees them (parsing thousands of pipelined requests of one read
//    is what stalls the loop, and it cannot be stopped once begun): a connection with
//    more than `maxPipelined` requests unanswered is closed unparsed.
//  - A request budget per client address (token bucket: `ratePerSecond`, `burst`),
//    counted when a request arrives; over it, 429 with Retry-After and the connection
//    closed. Half a burst over it, its new connections are closed at accept, unanswered;
//    a burst over it (requests already queued on a connection), that connection is cut.
//    Both until the budget has paid the debt back (at most 10 × burst / rate).
//  - At most `perTurn` requests start in one event-loop turn; the rest wait for the next
//    turn (setImmediate), so the timers that start probes run in between.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { API_DEFAULTS } from "../core/defaults.js";
import { HttpError, sendError } from "../http/http-error.js";

export interface RequestGateOptions {
  ratePerSecond?: number;
  burst?: number;
  maxPipelined?: number;
  perTurn?: number;
  /** Monotonic ms (tests pass a fake). Default performance.now. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

interface Conn {
  busy: boolean;
  /** Request heads received (counted in the raw bytes) and not answered yet. */
  unanswered: number;
  /** Closed for pipelining too deep: what the parser still hands over is dropped. */
  dead: boolean;
  waiting: Array<() => void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const noop = (): void => {};
const HEAD_END = Buffer.from("\r\n\r\n");
const RATE_LIMITED = new HttpError(
  429,
  "WDM_RATE_LIMITED",
  "too many requests from this address; retry after 1 s",
  { "Retry-After": "1" },
);

/** Request heads ending in `chunk` (CRLF CRLF), counted up to `max`. */
function countHeads(chunk: Buffer, max: number): number {
  let n = 0;
  for (let at = chunk.indexOf(HEAD_END); at !== -1 && n < max; at = chunk.indexOf(HEAD_END, at + 4)) n++;
  return n;
}

export class RequestGate {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxPipelined: number;
  private readonly perTurn: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  /** Addresses tracked before the next sweep (doubles while a sweep frees too little, so a flood from many addresses sweeps rarely). */
  private sweepAt: number = API_DEFAULTS.requestBudgetAddresses;
  private readonly conns = new WeakMap<Socket, Conn>();
  private readonly ready: Array<() => void> = [];
  private draining: NodeJS.Immediate | null = null;
  /** Requests answered 429 (over an address's budget), and connections closed for pipelining too deep. */
  limited = 0;
  closedPipelines = 0;

  constructor(opts: RequestGateOptions = {}) {
    this.rate = opts.ratePerSecond ?? API_DEFAULTS.requestsPerSecondPerAddress;
    this.burst = opts.burst ?? API_DEFAULTS.requestBurstPerAddress;
    this.maxPipelined = opts.maxPipelined ?? API_DEFAULTS.maxPipelinedPerConnection;
    this.perTurn = opts.perTurn ?? API_DEFAULTS.requestsPerTurn;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Wraps `handler`: every request goes through the budget, its connection's queue and the turn cap. */
  wrap(handler: Handler): Handler {
    return (req, res) => {
      const socket = req.socket;
      let conn = this.conns.get(socket);
      if (!conn) {
        conn = { busy: false, dead: false, unanswered: 0, waiting: [] };
        this.conns.set(socket, conn);
      }
      if (conn.dead) return;
      const verdict = this.take(socket.remoteAddress ?? "");
      if (verdict === "blocked") {
        // A flood: nothing more is parsed, queued or answered for this connection.
        this.limited += 1;
        conn.dead = true;
        conn.waiting.length = 0;
        socket.destroy();
        return;
      }
      if (conn.waiting.length >= this.maxPipelined) {
        // A client pipelining this deep is not waiting for answers: it is flooding.
        this.closedPipelines += 1;
        conn.dead = true;
        conn.waiting.length = 0;
        socket.destroy();
        return;
      }
      const c = conn;
      const run = (): void => {
        res.once("close", () => {
          c.unanswered = Math.max(0, c.unanswered - 1);
          this.next(socket, c);
        });
        if (verdict === "limited") {
          this.limited += 1;
          res.shouldKeepAlive = false;
          sendError(res, RATE_LIMITED);
          return;
        }
        handler(req, res);
      };
      if (c.busy) {
        c.waiting.push(run);
        // Read no more from a connection that is already waiting on us.
        socket.pause();
        return;
      }
      c.busy = true;
      this.schedule(run);
    };
  }

  /**
   * Watches a new connection's bytes before the HTTP parser gets them: a read that brings
   * the requests unanswered on it above `maxPipelined` closes it, unparsed.
   */
  attach(socket: Socket): void {
    const conn: Conn = { busy: false, dead: false, unanswered: 0, waiting: [] };
    this.conns.set(socket, conn);
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event === "data" && !conn.dead && Buffer.isBuffer(args[0])) {
        conn.unanswered += countHeads(args[0], this.maxPipelined + 1);
        if (conn.unanswered > this.maxPipelined) {
          this.closedPipelines += 1;
          conn.dead = true;
          conn.waiting.length = 0;
          socket.destroy();
          return false;
        }
      }
      return emit(event, ...args);
    }) as Socket["emit"];
    // A 'data' listener makes node's HTTP server read through the socket's events (its
    // own fast path would hand the bytes to the parser before anyone could see them).
    socket.on("data", noop);
  }

  /** The next pipelined request of a connection, once its previous answer is done. */
  private next(socket: Socket, c: Conn): void {
    if (socket.destroyed) c.waiting.length = 0;
    const job = c.waiting.shift();
    if (job === undefined) {
      c.busy = false;
      if (!socket.destroyed) socket.resume();
      return;
    }
    this.schedule(job);
  }

  private schedule(job: () => void): void {
    this.ready.push(job);
    this.draining ??= setImmediate(() => this.drain());
  }

  private drain(): void {
    this.draining = null;
    for (let i = 0; i < this.perTurn; i++) {
      const job = this.ready.shift();
      if (job === undefined) return;
      job();
    }
    if (this.ready.length > 0) this.draining = setImmediate(() => this.drain());
  }

  /**
   * Counts one request of `address`: "ok" within its budget, "limited" over it (429),
   * "blocked" more than a burst over it (a flood: closed unanswered).
   */
  private take(address: string): "ok" | "limited" | "blocked" {
    const b = this.refill(address);
    // The debt is bounded, so a flood that stops is forgiven within 10 × burst / rate.
    b.tokens = Math.max(-10 * this.burst, b.tokens - 1);
    if (b.tokens >= 0) return "ok";
    return b.tokens > -this.burst ? "limited" : "blocked";
  }

  /** True while `address` is more than a burst over its budget: its new connections are closed at accept. */
  blocked(address: string | undefined): boolean {
    const b = this.buckets.get(address ?? "");
    if (!b) return false;
    return this.refill(address ?? "").tokens <= -this.burst / 2;
  }

  private refill(address: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= this.sweepAt) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(address, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    return b;
  }

  /** Forgets the addresses whose budget is full again (they would start full anyway). */
  private sweep(now: number): void {
    for (const [a, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(a);
    }
    this.sweepAt = Math.max(API_DEFAULTS.requestBudgetAddresses, 2 * this.buckets.size);
  }

  /** Stops the pending turn (close()); requests still waiting are dropped with their sockets. */
  stop(): void {
    if (this.draining) clearImmediate(this.draining);
    this.draining = null;
    this.ready.length = 0;
  }
}
