// GET /v1/events/stream: Server-Sent Events of new journal entries.
// A client may resume with `Last-Event-ID` (or `?after=SEQ`): missed entries are
// replayed first, then live ones follow, each exactly once and in seq order.
//
// Bounded: each live entry is serialised once into one frame that every client is
// given (the same Buffer, never a copy per client). A client whose unsent bytes pass
// `maxBufferedBytes` (1 MiB), or whose socket has not drained for `stallMs` (30 s), is
// dropped: its connection is cut, and it reconnects with Last-Event-ID and loses
// nothing (the journal replays what it missed). So a reader that stops reading costs
// at most its budget, never the node's memory.
//
// A client that asks with `?probes=1` also gets each probe result as an `event: probe`
// frame (the dashboard's beat strips). These frames carry no `id:`, so Last-Event-ID
// still names the last journal entry; they are live only (never replayed: the peer's
// history, GET /v1/peers/:name/history, covers the gap), shared between clients and
// counted in the same budget as the journal's frames. They are capped: at most one per
// peer per `probeIntervalMs` (1 s). A result that comes sooner is held, a newer one
// replaces it, and the newest is sent when the peer's second is over; so a node with
// hundreds of peers probed every 100 ms sends each dashboard at most one event per peer
// per second, and the last result of a burst is never lost.
import type { IncomingMessage, ServerResponse } from "node:http";
import { systemClock, type Clock, type TimerHandle } from "../schedule/clock.js";
import type { JournalEntry } from "../store/types.js";
import type { ApiBackend } from "./backend.js";
import type { PeerBeat } from "./probe-history.js";
import { HttpError } from "../http/http-error.js";
import { API_DEFAULTS } from "../core/defaults.js";

/** Most entries replayed on resume; older ones are fetched with GET /v1/events. */
const REPLAY_LIMIT = 1000;
/** Default cap of one client's unsent bytes. */
export const SSE_MAX_BUFFERED_BYTES = API_DEFAULTS.sseMaxBufferedBytes;
/** Default: a client whose socket has not drained for this long is dropped, ms. */
export const SSE_STALL_MS = API_DEFAULTS.sseStallMs;
/** Default least time between two probe events of one peer, ms. */
export const SSE_PROBE_INTERVAL_MS = API_DEFAULTS.sseProbeIntervalMs;
/** How often stalled clients are looked for and keep-alives are due, ms. */
const SWEEP_MS = 1_000;

const KEEP_ALIVE = Buffer.from(": keep-alive\n\n");

/** The one serialised form of an entry, shared by every client. */
export function sseFrame(e: JournalEntry): Buffer {
  return Buffer.from(`id: ${e.seq}\nevent: escalation\ndata: ${JSON.stringify(e)}\n\n`);
}

/** The one serialised form of a probe result, shared by every client that asked for them. */
export function sseProbeFrame(b: PeerBeat): Buffer {
  return Buffer.from(`event: probe\ndata: ${JSON.stringify(b)}\n\n`);
}

export interface SseHubOptions {
  /** Comment line sent this often when nothing else was, so proxies and clients see the stream alive, ms. */
  heartbeatMs: number;
  /** Most concurrent streams; more → 503. */
  maxClients: number;
  /** A client with more unsent bytes than this is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** A client whose socket has not drained for this long is dropped, ms. Default 30 000. */
  stallMs?: number;
  /** Least time between two probe events of one peer; sooner results are coalesced to the newest, ms. Default 1 000. */
  probeIntervalMs?: number;
  clock?: Clock;
  /** Applied to every serialised frame before it is sent (secret redaction). */
  transform?: (frame: string) => string;
}

interface Client {
  res: ServerResponse;
  lastSeq: number;
  replaying: boolean;
  /** Asked for probe results too (?probes=1). */
  probes: boolean;
  pending: Buffer[];
  pendingSeqs: number[];
  /** When a write was last refused (socket full), until it drained; undefined when flowing. */
  blockedSince: number | undefined;
  /**
   * Frames waiting for the socket to drain: references to the shared frames, so a
   * blocked client costs a pointer per entry, not a copy or a socket write request.
   */
  queue: Buffer[];
  queueHead: number;
  queuedBytes: number;
  lastWriteAt: number;
  close(): void;
}

export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly clock: Clock;
  private readonly maxBuffered: number;
  private readonly stallMs: number;
  private readonly probeIntervalMs: number;
  /** When each peer's last probe event was sent (peers sent within the last interval). */
  private readonly probeSentAt = new Map<string, number>();
  /** Per peer, the newest result that came within its interval, sent when the interval ends. */
  private readonly heldProbes = new Map<string, PeerBeat>();
  private probeTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeProbes: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private dropped = 0;

  constructor(
    private readonly backend: ApiBackend,
    private readonly opts: SseHubOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxBuffered = opts.maxBufferedBytes ?? SSE_MAX_BUFFERED_BYTES;
    this.stallMs = opts.stallMs ?? SSE_STALL_MS;
    this.probeIntervalMs = opts.probeIntervalMs ?? SSE_PROBE_INTERVAL_MS;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Clients dropped so far for exceeding their budget (bytes or stall). */
  get droppedClients(): number {
    return this.dropped;
  }

  /**
   * Bytes written to the streams and not sent yet, over all clients: frames queued while
   * a socket is full and what the sockets hold in their write buffers. Each client's part
   * stays within its budget (`maxBufferedBytes`).
   */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.clients) n += c.queuedBytes + c.res.writableLength;
    return n;
  }

  open(
    req: IncomingMessage,
    res: ServerResponse,
    after: number | undefined,
    opts: { probes?: boolean } = {},
  ): void {
    if (this.clients.size >= this.opts.maxClients) {
      throw new HttpError(
        503,
        "WDM_UNAVAILABLE",
        `too many event streams open (max ${this.opts.maxClients}); close one and retry`,
        { "Retry-After": "5" },
      );
    }
    let closed = false;
    const client: Client = {
      res,
      lastSeq: after ?? -1,
      replaying: after !== undefined,
      probes: opts.probes === true,
      pending: [],
      pendingSeqs: [],
      blockedSince: undefined,
      queue: [],
      queueHead: 0,
      queuedBytes: 0,
      lastWriteAt: this.clock.now(),
      close: () => {
        if (closed) return;
        closed = true;
        this.clients.delete(client);
        client.queue = [];
        client.queuedBytes = 0;
        if (!res.writableEnded) res.end();
        this.idleCheck();
      },
    };
    // Subscribe (hub-wide, once) before replaying so nothing appended in between is lost.
    this.clients.add(client);
    this.subscribe();
    req.on("close", client.close);
    res.on("close", client.close);
    res.on("error", client.close);
    res.on("drain", () => this.flush(client));

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    this.send(client, Buffer.from(`retry: 3000\n: connected\n\n`));
    if (after !== undefined) {
      try {
        for (const e of this.backend.events(after, REPLAY_LIMIT)) {
          if (closed) return;
          if (e.seq <= client.lastSeq) continue;
          client.lastSeq = e.seq;
          this.send(client, this.transformed(sseFrame(e)));
        }
        client.pending.forEach((f, i) => {
          const seq = client.pendingSeqs[i] as number;
          if (closed || seq <= client.lastSeq) return;
          client.lastSeq = seq;
          this.send(client, f);
        });
      } finally {
        client.replaying = false;
        client.pending = [];
        client.pendingSeqs = [];
      }
    }
  }

  /** Ends every stream (server stop). */
  closeAll(): void {
    for (const c of [...this.clients]) c.close();
    this.idleCheck();
  }

  /** A frame as sent: through the transform (redaction) when there is one. */
  private transformed(frame: Buffer): Buffer {
    return this.opts.transform ? Buffer.from(this.opts.transform(frame.toString())) : frame;
  }

  private subscribe(): void {
    this.unsubscribe ??= this.backend.onEvent((e) => this.broadcast(e));
    this.unsubscribeProbes ??= this.backend.onProbe?.((b) => this.broadcastProbe(b));
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      if (this.clients.size > 0) this.arm();
    }, SWEEP_MS);
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  /** No clients left: stop listening to the journal and stop the sweep timer. */
  private idleCheck(): void {
    if (this.clients.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeProbes?.();
    this.unsubscribeProbes = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.heldProbes.clear();
    this.probeSentAt.clear();
  }

  private broadcast(e: JournalEntry): void {
    let frame: Buffer | undefined; // serialised at most once, only if someone wants it
    for (const c of [...this.clients]) {
      if (e.seq <= c.lastSeq) continue;
      frame ??= this.transformed(sseFrame(e));
      if (c.replaying) {
        c.pending.push(frame);
        c.pendingSeqs.push(e.seq);
        continue;
      }
      c.lastSeq = e.seq;
      this.send(c, frame);
    }
  }

  /** A probe result: sent now if its peer's interval is over, else held (the newest replaces the held one). */
  private broadcastProbe(b: PeerBeat): void {
    if (![...this.clients].some((c) => c.probes)) return;
    if (this.probeDue(b.peer, this.clock.now())) {
      this.heldProbes.delete(b.peer);
      this.sendProbe(b);
      return;
    }
    this.heldProbes.set(b.peer, b);
    this.armProbeFlush();
  }

  /** True when `peer` may have a probe event now (none within the interval, or the clock went back). */
  private probeDue(peer: string, now: number): boolean {
    const last = this.probeSentAt.get(peer);
    return last === undefined || now - last >= this.probeIntervalMs || now < last;
  }

  private sendProbe(b: PeerBeat): void {
    this.probeSentAt.set(b.peer, this.clock.now());
    let frame: Buffer | undefined; // serialised at most once, only if someone wants it
    for (const c of [...this.clients]) {
      if (!c.probes || c.replaying) continue;
      frame ??= this.transformed(sseProbeFrame(b));
      this.send(c, frame);
    }
  }

  /** One timer for every held result, due when the earliest held peer's interval ends. */
  private armProbeFlush(): void {
    if (this.probeTimer !== undefined || this.heldProbes.size === 0) return;
    const now = this.clock.now();
    let due = Infinity;
    for (const peer of this.heldProbes.keys()) {
      due = Math.min(due, (this.probeSentAt.get(peer) ?? now) + this.probeIntervalMs);
    }
    this.probeTimer = this.clock.setTimeout(
      () => {
        this.probeTimer = undefined;
        this.flushHeldProbes();
      },
      Math.max(0, due - now),
    );
    (this.probeTimer as { unref?: () => void } | undefined)?.unref?.();
  }

  private flushHeldProbes(): void {
    const now = this.clock.now();
    for (const [peer, b] of [...this.heldProbes]) {
      if (!this.probeDue(peer, now)) continue;
      this.heldProbes.delete(peer);
      this.sendProbe(b);
    }
    this.armProbeFlush();
  }

  /**
   * Sends `chunk`, or queues it while the socket is full; a client whose unsent bytes
   * (queued and in the socket's buffer) would pass the budget is dropped instead.
   */
  private send(c: Client, chunk: Buffer): void {
    if (c.res.destroyed || c.res.writableEnded) {
      c.close();
      return;
    }
    if (c.queuedBytes + c.res.writableLength + chunk.length > this.maxBuffered) {
      this.drop(c);
      return;
    }
    c.lastWriteAt = this.clock.now();
    if (c.blockedSince !== undefined) {
      c.queue.push(chunk);
      c.queuedBytes += chunk.length;
      return;
    }
    this.write(c, chunk);
  }

  private write(c: Client, chunk: Buffer): void {
    try {
      if (!c.res.write(chunk)) c.blockedSince = this.clock.now();
    } catch {
      c.close();
    }
  }

  /** The socket drained: write queued frames until it is full again. */
  private flush(c: Client): void {
    c.blockedSince = undefined;
    while (c.queueHead < c.queue.length && c.blockedSince === undefined && this.clients.has(c)) {
      const chunk = c.queue[c.queueHead] as Buffer;
      c.queueHead += 1;
      c.queuedBytes -= chunk.length;
      this.write(c, chunk);
    }
    if (c.queueHead >= c.queue.length) {
      c.queue = [];
      c.queueHead = 0;
    } else if (c.queueHead > 1024) {
      c.queue = c.queue.slice(c.queueHead);
      c.queueHead = 0;
    }
  }

  private drop(c: Client): void {
    this.dropped += 1;
    // Cut the connection: what is buffered for it is released at once. The client
    // reconnects with Last-Event-ID (the last entry it received) and misses nothing.
    c.res.destroy();
    c.close();
  }

  private sweep(): void {
    const now = this.clock.now();
    // Peers without a probe event for a whole interval need no record (absent means due).
    for (const peer of [...this.probeSentAt.keys()]) {
      if (!this.heldProbes.has(peer) && this.probeDue(peer, now)) this.probeSentAt.delete(peer);
    }
    for (const c of [...this.clients]) {
      if (c.blockedSince !== undefined && now - c.blockedSince >= this.stallMs) {
        this.drop(c);
      } else if (now - c.lastWriteAt >= this.opts.heartbeatMs) {
        this.send(c, KEEP_ALIVE);
      }
    }
  }
}
