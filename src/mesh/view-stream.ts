// Streamed views: a member asks for its view once (GET /v1/mesh/view?nonce=N&stream=1, signed
// as any view request) and this node keeps the answer open, writing one signed view per
// interval on it. Each line is `<proof> <view JSON>\n` (the same proof as the header of a
// single view). Every view of the stream echoes the request's nonce and carries `seq` (1, 2,
// ...) and `elapsed_ms` (this node's monotonic time since it accepted the request), both
// signed: the member accepts only increasing seqs, and dates a view no later than its request
// plus elapsed_ms, so a view held back on the way never looks fresher than it is, and a
// recorded stream replayed later names another nonce.
//
// Why: one exchange per member per interval costs both sides a whole HTTP request (headers
// made, parsed, routed, answered); a line on an open stream costs a write and a read. In a
// mesh of embedded agents that is most of the watchdog's CPU (bench/embed-cost.ts).
//
// Bounded: one stream per requesting member (a new one ends the old), all written from one
// timer per cadence (one wakeup per interval for all the members), and a member that stops reading is cut
// once `maxBufferedBytes` are unsent (it asks again; it loses only views it did not read).
import type { ServerResponse } from "node:http";
import type { Clock, TimerHandle } from "../core/clock.js";
import { untilBoundary } from "../schedule/boundary.js";

/** Content type of a view stream: one JSON view per line. */
export const VIEW_STREAM_CONTENT_TYPE = "application/x-ndjson";
/** Query parameter asking for a stream (`stream=1`). */
export const VIEW_STREAM_PARAM = "stream";
/** Default cap of one member's unsent bytes before its stream is cut (256 KiB). */
export const VIEW_STREAM_MAX_BUFFERED_BYTES = 262_144;

/** Where a view sits in its stream: signed into the view. */
export interface StreamMark {
  seq: number;
  elapsedMs: number;
}

/** One line of a stream: the proof, a space, the view. */
export function streamLine(proof: string, body: string): string {
  return `${proof} ${body}\n`;
}

/** Splits a line (without its newline) into proof and view, or undefined when it has no space. */
export function parseStreamLine(line: Buffer): { proof: string; body: Buffer } | undefined {
  const sp = line.indexOf(0x20);
  if (sp <= 0) return undefined;
  return { proof: line.subarray(0, sp).toString("latin1"), body: line.subarray(sp + 1) };
}

export interface ViewStreamsOptions {
  clock: Clock;
  /** The signed view for `requester`'s stream, or undefined when this node serves none (it ends the stream). */
  view(nonce: string, requester: string, mark: StreamMark): { body: string; proof: string } | undefined;
  /** Cap of one stream's unsent bytes. Default VIEW_STREAM_MAX_BUFFERED_BYTES. */
  maxBufferedBytes?: number;
}

/** Shortest and longest time between two views of a stream that a member may ask for, ms. */
export const VIEW_STREAM_MIN_EVERY_MS = 100;
export const VIEW_STREAM_MAX_EVERY_MS = 3_600_000;

/** The `every` a member asks for (`?every=MS`): a whole number of ms within bounds, else undefined. */
export function streamEvery(raw: string | null): number | undefined {
  if (raw === null || !/^[0-9]{1,10}$/.test(raw)) return undefined;
  const ms = Number(raw);
  return ms >= VIEW_STREAM_MIN_EVERY_MS && ms <= VIEW_STREAM_MAX_EVERY_MS ? ms : undefined;
}

interface Subscriber {
  res: ServerResponse;
  nonce: string;
  requester: string;
  everyMs: number;
  startedMono: number;
  seq: number;
}

/** Streams written every `everyMs`, from one timer. */
interface Cadence {
  timer: TimerHandle | null;
  subs: Set<Subscriber>;
}

/**
 * The open view streams of this node, one per requesting member. Streams that ask for the
 * same cadence (the members' common interval) are written from one timer.
 */
export class ViewStreams {
  private readonly byRequester = new Map<string, Subscriber>();
  private readonly cadences = new Map<number, Cadence>();
  private accepting = true;
  private readonly maxBuffered: number;

  constructor(private readonly opts: ViewStreamsOptions) {
    this.maxBuffered = opts.maxBufferedBytes ?? VIEW_STREAM_MAX_BUFFERED_BYTES;
  }

  /** Streams open now. */
  get size(): number {
    return this.byRequester.size;
  }

  /** Accepts streams again after close(). Idempotent. */
  start(): void {
    this.accepting = true;
  }

  /**
   * Answers `res` with a stream of views for `requester` (whose signed request carried
   * `nonce`), one every `everyMs`, and writes the first now. False, with `res` untouched,
   * when it cannot stream: this node is stopping, or `res` is not on a socket (a
   * fetch-style host answers one view).
   */
  open(res: ServerResponse, nonce: string, requester: string, everyMs: number): boolean {
    if (!this.accepting || !res.socket || typeof res.write !== "function") return false;
    const sub: Subscriber = {
      res,
      nonce,
      requester,
      everyMs,
      startedMono: this.opts.clock.monotonic(),
      seq: 0,
    };
    const old = this.byRequester.get(requester);
    if (old) this.drop(old);
    this.byRequester.set(requester, sub);
    res.writeHead(200, {
      "Content-Type": VIEW_STREAM_CONTENT_TYPE,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    res.socket.setNoDelay(true);
    res.once("close", () => this.drop(sub));
    this.write(sub);
    if (res.writableEnded || res.destroyed) return true;
    let cadence = this.cadences.get(everyMs);
    if (cadence === undefined) {
      cadence = { timer: null, subs: new Set() };
      this.cadences.set(everyMs, cadence);
    }
    cadence.subs.add(sub);
    if (cadence.timer === null) this.arm(cadence, everyMs);
    return true;
  }

  /** Ends every stream (their members ask again, elsewhere or later) and refuses new ones until start(). Idempotent. */
  close(): void {
    this.accepting = false;
    for (const sub of [...this.byRequester.values()]) this.drop(sub);
  }

  /** Forgets `sub` (ending its answer), and its cadence's timer when it was the last. */
  private drop(sub: Subscriber): void {
    if (this.byRequester.get(sub.requester) === sub) this.byRequester.delete(sub.requester);
    const cadence = this.cadences.get(sub.everyMs);
    if (cadence?.subs.delete(sub) === true && cadence.subs.size === 0) {
      if (cadence.timer !== null) this.opts.clock.clearTimeout(cadence.timer);
      this.cadences.delete(sub.everyMs);
    }
    if (!sub.res.writableEnded) sub.res.end();
  }

  private tick(everyMs: number): void {
    const cadence = this.cadences.get(everyMs);
    if (cadence === undefined) return;
    cadence.timer = null;
    for (const sub of [...cadence.subs]) this.write(sub);
    if (cadence.subs.size > 0) this.arm(cadence, everyMs);
    else this.cadences.delete(everyMs);
  }

  /** The cadence's next tick, at the next boundary of `everyMs` on the wall clock: the members' heartbeats of this view aim at it too. */
  private arm(cadence: Cadence, everyMs: number): void {
    cadence.timer = this.opts.clock.setTimeout(
      () => this.tick(everyMs),
      untilBoundary(this.opts.clock.now(), everyMs),
    );
  }

  private write(sub: Subscriber): void {
    const { res } = sub;
    if (res.writableEnded || res.destroyed) {
      this.drop(sub);
      return;
    }
    // A member that stopped reading: cut, so it costs this node at most the cap.
    if (res.writableLength > this.maxBuffered) {
      this.drop(sub);
      res.destroy();
      return;
    }
    sub.seq += 1;
    const elapsedMs = Math.max(0, Math.floor(this.opts.clock.monotonic() - sub.startedMono));
    const v = this.opts.view(sub.nonce, sub.requester, { seq: sub.seq, elapsedMs });
    if (v === undefined) {
      this.drop(sub);
      return;
    }
    res.write(streamLine(v.proof, v.body));
  }
}
