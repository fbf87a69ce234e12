// View exchange between mesh members. Each node serves GET /v1/mesh/view:
//   {"node", "at", "nonce"?,
//    "peers": [{"name", "status", "missed_count", "backs"?, "backs_stable_ms"?}],
//    "in_flight"?: [{"peer", "incident", "step", "attempt", "started_at", "age_ms", "finished"}]}
// (its non-member peers as it sees them; for a peer it sees failing, the node it backs
// to remediate it; the remediation steps it has started, unfinished or started less than
// takeover_after ago), with header
// X-Wdmesh-Proof = hex
// HMAC-SHA256(mesh key, body). The poller asks with a fresh `?nonce=` that the node
// echoes in the body, so a recorded view cannot be replayed later. A node without a
// mesh key serves no view (404).
//
// ViewPoller asks every member for a stream of views (view-stream.ts: one signed view per
// interval on one open request; a member that answers one view is polled every interval
// instead) and keeps the latest verified one with the time it was made by at the earliest;
// a view that is not JSON, is too large, carries a bad proof, names another node, echoes
// another nonce or repeats a stream's seq is ignored and logged.
import { freshNonce, hmacSha256 } from "../core/hmac.js";
import { safeOrigin } from "../core/redact.js";
import { withoutTrailingSlash } from "../core/base-url.js";
import { iso } from "../core/duration.js";
import type { InFlightStep } from "../core/gate.js";
import type { PeerCount, PeerStatus } from "../core/types.js";
import { silentLogger, type Logger } from "../core/logger.js";
import { compileHttpTarget, HttpClient } from "../probe/http.js";
import { systemClock, type Clock, type TimerHandle } from "../schedule/clock.js";
import { nextBoundary } from "../schedule/boundary.js";
import type { Identity, PublicIdentity } from "../core/identity.js";
import type { InFlightView, MeshViewDoc, ViewExpectation, ViewSigner } from "./view-schema.js";
import { ViewStream, type StreamEnd } from "./view-stream-client.js";
import { signViewRequest } from "./view-auth.js";
import { VIEW_STREAM_PARAM, type StreamMark } from "./view-stream.js";
import { dateHeaderMs, DATE_HEADER_RESOLUTION_MS, estimateOffset, type ClockSkew } from "./clock-skew.js";

/** Response header carrying the view's proof. */
export const VIEW_PROOF_HEADER = "x-wdmesh-proof";
export type { InFlightView, MeshViewDoc, ViewPeer, ViewSigner } from "./view-schema.js";

/** The view's check (view-schema.ts), loaded on the first poll: a node that polls no view never loads it. */
let schema: Promise<typeof import("./view-schema.js")> | undefined;
function viewSchema(): Promise<typeof import("./view-schema.js")> {
  schema ??= import("./view-schema.js");
  return schema;
}

/** Largest view body accepted, bytes (64 KiB). */
export const MAX_VIEW_BYTES = 65_536;
/** Path of the view route on a member's base URL. */
export const VIEW_PATH = "/v1/mesh/view";
/** A view stream is asked again after this long, so the two clocks' rates never drift far apart, ms (10 min). */
export const VIEW_STREAM_MAX_AGE_MS = 600_000;
/** A member that cannot stream (it answers one view, or a stream that carries nothing) is polled this long before it is asked to stream again, ms (10 min). */
export const VIEW_STREAM_RETRY_MS = 600_000;

type Member = { name: string; url: string; publicKey?: PublicIdentity };

/** One view request: its nonce, when it was sent (wall and monotonic), URL and signed headers. */
interface Ask {
  nonce: string;
  wall: number;
  mono: number;
  url: string;
  headers: Record<string, string>;
}

/** A member's open view stream. */
interface OpenStream {
  ask: Ask;
  conn: ViewStream;
  lastSeq: number;
  /** Monotonic ms of its latest line (of its request while none came). */
  lastLineMono: number;
}

/** What a member's view says about one peer. */
export interface ReceivedPeer {
  status: PeerStatus;
  missed_count: number;
  backs?: string;
  backs_stable_ms?: number | null;
}

/** Backing of a peer as this node serves it (see ViewPeer.backs). */
export interface Backing {
  backs: string;
  stableMs: number | null;
}

/** A verified view of a member, as kept by the poller. */
export interface ReceivedView {
  node: string;
  /**
   * Epoch ms (this node's clock) when the request this view answers was sent. The view
   * is at least this recent (its nonce ties it to that request), so a slow answer never
   * looks fresher than it is.
   */
  receivedAt: number;
  peers: ReadonlyMap<string, ReceivedPeer>;
  /** Steps the member had started and not finished. */
  inFlight: readonly InFlightView[];
  /** The member said it is overloaded (it holds its own steps). */
  degraded?: boolean;
  /** A streamed view: when it arrived (epoch ms, this node's clock); absent for a polled one. */
  arrivedAt?: number;
  /** The view request's round trip, ms. */
  rttMs?: number;
  /**
   * Why the member said it cannot record what it does (its store cannot commit; its
   * heartbeat says the same), null when it said it can, absent when it did not say.
   */
  unfit?: string | null;
}

/** hex HMAC-SHA256(key, body). */
export function viewProof(key: string, body: string): string {
  return hmacSha256(key, body).toString("hex");
}

/** What a view carries beyond peer health: the node's backings and its steps in flight. */
export interface ViewExtras {
  /** The node this node backs to remediate `peer`, or undefined when it sees it healthy. */
  backing?: (peer: string) => Backing | undefined;
  inFlight?: readonly InFlightView[];
  /** This node is overloaded (self health degraded). */
  degraded?: boolean;
  /** The member whose signed request this view answers (bound into the signed body). */
  requester?: string;
  /** Why this node is not fit to act (its store cannot commit), as its /health says. */
  unfit?: string;
  /** This node's mesh identity (bound into the signed body). */
  mesh?: string;
  /** The view's place in a stream (view-stream.ts), bound into the signed body. */
  stream?: StreamMark;
}

/**
 * The steps a view lists: every one still running, and each finished one for
 * takeover_after after it started (so a member that polls late still sees it).
 */
export function viewInFlight(
  steps: readonly InFlightStep[],
  now: number,
  takeoverAfterMs: (peer: string) => number,
): InFlightView[] {
  return steps
    .filter((f) => f.finishedAt === null || now - f.startedAt < takeoverAfterMs(f.peer))
    .map((f) => ({
      peer: f.peer,
      incident: f.incident,
      step: f.step,
      attempt: f.attempt,
      started_at: iso(f.startedAt) as string,
      age_ms: Math.max(0, now - f.startedAt),
      ...(f.finishedAt === null ? {} : { finished: true }),
    }));
}

/** Serialises this node's view of `peers` (members already left out by the caller). */
export function buildView(
  node: string,
  peers: readonly PeerCount[],
  at: number,
  nonce?: string,
  extras: ViewExtras = {},
): string {
  const doc: MeshViewDoc = {
    node,
    at: new Date(at).toISOString(),
    ...(nonce === undefined ? {} : { nonce }),
    ...(extras.requester === undefined ? {} : { for: extras.requester }),
    ...(extras.mesh === undefined ? {} : { mesh: extras.mesh }),
    peers: peers.map((p) => {
      const b = extras.backing?.(p.name);
      return {
        name: p.name,
        status: p.status,
        missed_count: p.missed_count,
        ...(b ? { backs: b.backs, backs_stable_ms: b.stableMs } : {}),
      };
    }),
    ...(extras.inFlight && extras.inFlight.length > 0 ? { in_flight: [...extras.inFlight] } : {}),
    ...(extras.degraded === true ? { degraded: true } : {}),
    unfit: extras.unfit ?? null,
    ...(extras.stream === undefined ? {} : { seq: extras.stream.seq, elapsed_ms: extras.stream.elapsedMs }),
  };
  return JSON.stringify(doc);
}

/** The view proof header's value: `ed25519=<base64>` with an identity, else hex HMAC over the mesh key. */
export function signView(body: string, signer: { key?: string; identity?: Identity }): string {
  if (signer.identity) return `ed25519=${signer.identity.sign(body)}`;
  return viewProof(signer.key ?? "", body);
}

export interface ViewPollerOptions {
  /** The other nodes: name, base URL and, when it has its own identity, its public key. */
  members: ReadonlyArray<{ name: string; url: string; publicKey?: PublicIdentity }>;
  /** This node's name: it signs its view requests as this (members refuse unsigned ones). */
  self?: string;
  /** The shared mesh key (views of members without a public key are proven with it). */
  key?: string;
  /** This node's own identity: signs its view requests when present. */
  identity?: Identity;
  /** The mesh identity a view must carry (MeshNode.meshId); unchecked when absent. */
  meshId?: string;
  /** Time between polls of all members, ms. */
  intervalMs: number;
  /** Deadline of one view request (connect, headers, body), ms. */
  timeoutMs: number;
  /** Largest view accepted, bytes. Default MAX_VIEW_BYTES (65 536). */
  maxBytes?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where each member's measured clock offset goes (view `at`, or a refusal's Date header). */
  skew?: ClockSkew;
  /**
   * Ask each member for a stream of views (one per interval on one open request) rather
   * than one request per interval; a member that cannot stream is polled. Default true.
   */
  stream?: boolean;
}

/** Polls every member's view once per interval; keeps the latest verified one per member. */
export class ViewPoller {
  private readonly members: ReadonlyArray<{ name: string; url: string; publicKey?: PublicIdentity }>;
  private readonly self: string;
  private readonly key: string | undefined;
  private readonly identity: Identity | undefined;
  private readonly meshId: string | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly skew: ClockSkew | undefined;
  private readonly stream: boolean;
  /** Per member: its open view stream. */
  private readonly streams = new Map<string, OpenStream>();
  /** Per member: heartbeats waiting for its next view (waitView). */
  private readonly waiters = new Map<string, Set<(arrived: boolean) => void>>();
  /** Per member: polled, not streamed, until this monotonic ms. */
  private readonly pollUntil = new Map<string, number>();
  /** The probes' keep-alive HTTP client (node:http, one connection per member). */
  private http: HttpClient | null = null;
  private readonly views = new Map<string, ReceivedView>();
  /** Last rejection reason per member, so a persistent problem is logged once, not every interval. */
  private readonly lastError = new Map<string, string>();
  /** Per member: why its latest request said nothing about it (this node's own trouble). */
  private readonly ownTrouble = new Map<string, string>();
  private timer: TimerHandle | null = null;
  /** When the armed round is due, and when the last one started (epoch ms). */
  private timerAt = 0;
  private roundStarted = 0;
  private running = false;
  private abort: AbortController | null = null;
  private round: Promise<void> | null = null;
  /** Grows on every stop(), so a round of an earlier start() never re-arms the timer. */
  private generation = 0;

  constructor(opts: ViewPollerOptions) {
    this.members = opts.members;
    this.self = opts.self ?? "";
    this.key = opts.key;
    this.identity = opts.identity;
    this.meshId = opts.meshId;
    this.intervalMs = opts.intervalMs;
    this.timeoutMs = opts.timeoutMs;
    this.maxBytes = opts.maxBytes ?? MAX_VIEW_BYTES;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.skew = opts.skew;
    this.stream = opts.stream ?? true;
  }

  /** The latest verified view of `member`, whatever its age (the gate judges freshness). */
  latest(member: string): ReceivedView | undefined {
    return this.views.get(member);
  }

  /**
   * Why the latest request for `member`'s view failed for this node's own reason (out of
   * descriptors or sockets, never sent from its queue), or undefined when it did not.
   */
  ownTroubleOf(member: string): string | undefined {
    return this.ownTrouble.get(member);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts polling (first round now). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.tick();
  }

  /** Stops polling, aborts requests in flight and waits for them; closes its own connections. Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    this.abort?.abort();
    this.abort = null;
    for (const st of this.streams.values()) st.conn.close();
    this.streams.clear();
    if (this.round) await this.round;
    if (this.http) {
      const h = this.http;
      this.http = null;
      await h.close();
    }
  }

  /** One round now: polls every member once (one request each, never a stream); resolves when all answers are handled. */
  async pollOnce(): Promise<void> {
    const signal = this.abort?.signal ?? new AbortController().signal;
    await Promise.all(this.members.map((m) => this.pollMember(m, signal)));
  }

  /** One round of the running poller: streams (or polls) every member whose stream is not live. */
  private async streamOnce(): Promise<void> {
    const signal = this.abort?.signal ?? new AbortController().signal;
    await Promise.all(this.members.map((m) => this.streamMember(m, signal)));
  }

  /**
   * Waits up to `ms` for `member`'s next view; true when one arrived, false when none did
   * (or at once, when it is not streaming: its views come only at this node's rounds).
   */
  waitView(member: string, ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.streams.get(member)?.conn.ended !== false || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let waiting = this.waiters.get(member);
      if (waiting === undefined) {
        waiting = new Set();
        this.waiters.set(member, waiting);
      }
      const set = waiting;
      const done = (arrived: boolean): void => {
        if (!set.delete(done)) return;
        this.clock.clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(arrived);
      };
      const onAbort = (): void => done(false);
      const timer = this.clock.setTimeout(() => done(false), ms);
      signal.addEventListener("abort", onAbort, { once: true });
      set.add(done);
    });
  }

  /** How `member`'s views come now: on its open stream, polled (it cannot stream), or neither (null). */
  viaOf(member: string): "stream" | "poll" | null {
    const st = this.streams.get(member);
    if (st !== undefined && !st.conn.ended && st.lastSeq > 0) return "stream";
    if (!this.stream || (this.pollUntil.get(member) ?? -Infinity) > this.clock.monotonic()) return "poll";
    return null;
  }

  /** Members whose view stream is open now. */
  get streaming(): number {
    let open = 0;
    for (const st of this.streams.values()) if (!st.conn.ended) open++;
    return open;
  }

  private tick(): void {
    this.timer = null;
    if (!this.running) return;
    const gen = this.generation;
    const started = this.clock.now();
    const round = (this.stream ? this.streamOnce() : this.pollOnce()).catch((err: unknown) =>
      this.logger.error({ err: String(err) }, "mesh view round failed"),
    );
    const tracked: Promise<void> = round.then(() => {
      if (this.round === tracked) this.round = null;
      // A stop() (and maybe a new start()) happened meanwhile: that loop is not ours.
      if (!this.running || gen !== this.generation) return;
      this.roundStarted = started;
      this.arm(this.nextRoundAt(started));
    });
    this.round = tracked;
  }

  private arm(at: number): void {
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, at - this.clock.now()));
  }

  /**
   * When the round after the one started at `started` is due (epoch ms): an interval later,
   * or, while every member streams, at the first boundary after the first stream would go
   * quiet or grow old: a round in between would find nothing to do (each is a wakeup).
   */
  private nextRoundAt(started: number): number {
    const next = started + this.intervalMs;
    if (!this.stream || this.members.length === 0) return next;
    const mono = this.clock.monotonic();
    let due = Infinity;
    for (const m of this.members) {
      const st = this.streams.get(m.name);
      if (st === undefined || st.conn.ended || st.lastSeq === 0) return next;
      due = Math.min(due, st.lastLineMono + this.quietLimitMs(), st.ask.mono + VIEW_STREAM_MAX_AGE_MS);
    }
    // On a boundary: the wakeup this node makes anyway for its heartbeats and streams.
    return Math.max(next, nextBoundary(this.clock.now() + (due - mono), this.intervalMs));
  }

  /** A stream ended: the next round comes at the usual interval, not at a later deadline. */
  private roundSoon(): void {
    if (this.timer === null || !this.running) return;
    const at = this.roundStarted + this.intervalMs;
    if (this.timerAt <= at) return;
    this.clock.clearTimeout(this.timer);
    this.arm(at);
  }

  private client(): HttpClient {
    this.http ??= new HttpClient({ maxBodyBytes: this.maxBytes, maxConnectionsPerOrigin: 1 });
    return this.http;
  }

  private async pollMember(m: Member, stop: AbortSignal): Promise<void> {
    if (stop.aborted) return;
    const ask = this.ask(m, false);
    const out = await this.fetchView(ask.url, ask.headers, stop);
    if (stop.aborted) return;
    const rttMs = this.clock.monotonic() - ask.mono;
    if ("error" in out) {
      this.failed(m, ask, out.error, rttMs, out.own === true, out.date);
      return;
    }
    const { verifyView } = await viewSchema();
    const checked = verifyView(this.signerOf(m), out.body, out.proof, this.expectation(m, ask.nonce));
    if (!checked.ok) {
      this.ownTrouble.delete(m.name);
      this.reject(m, checked.error);
      return;
    }
    this.record(m, checked.view, ask.wall, rttMs, rttMs);
  }

  /** A fresh nonce and the signed request for `m`'s view (a stream of them with `stream`). */
  private ask(m: Member, stream: boolean): Ask {
    const nonce = freshNonce();
    const wall = this.clock.now();
    const mono = this.clock.monotonic();
    const query = stream
      ? `?nonce=${nonce}&${VIEW_STREAM_PARAM}=1&every=${this.intervalMs}`
      : `?nonce=${nonce}`;
    // The member serves its view only to a member that signs its request.
    const headers = signViewRequest(
      { ...(this.key ? { key: this.key } : {}), ...(this.identity ? { identity: this.identity } : {}) },
      this.self,
      m.name,
      nonce,
      wall,
    );
    return { nonce, wall, mono, url: `${withoutTrailingSlash(m.url)}${VIEW_PATH}${query}`, headers };
  }

  private signerOf(m: Member): ViewSigner {
    return m.publicKey ? { publicKey: m.publicKey } : { ...(this.key ? { key: this.key } : {}) };
  }

  private expectation(m: Member, nonce: string): ViewExpectation {
    return {
      node: m.name,
      nonce,
      ...(this.self === "" ? {} : { requester: this.self }),
      ...(this.meshId === undefined ? {} : { mesh: this.meshId }),
    };
  }

  /** The request for `m`'s view failed: its own trouble, or the member's (with a clock hint from its Date). */
  private failed(m: Member, ask: Ask, error: string, rttMs: number, own: boolean, date?: string): void {
    // A refusal still carries the member's clock (its Date header): a hint for the words only.
    const dated = dateHeaderMs(date);
    if (dated !== undefined)
      this.skew?.record(
        m.name,
        estimateOffset(dated, ask.wall, rttMs, DATE_HEADER_RESOLUTION_MS),
        this.clock.now(),
      );
    if (own) this.ownTrouble.set(m.name, error);
    else this.ownTrouble.delete(m.name);
    const skewed = own ? undefined : this.skew?.refusalReason(m.name);
    this.reject(m, skewed === undefined ? error : `${error}: ${skewed}`, own);
  }

  /**
   * Keeps a verified view of `m`, made no earlier than `producedAt` (this node's wall clock)
   * and received `delayMs` after that; a view older than the one kept is dropped.
   */
  private record(
    m: Member,
    view: MeshViewDoc,
    producedAt: number,
    delayMs: number,
    rttMs: number,
    arrivedAt?: number,
  ): void {
    this.ownTrouble.delete(m.name);
    const kept = this.views.get(m.name);
    if (kept !== undefined && kept.receivedAt > producedAt) return;
    const at = Date.parse(view.at);
    if (Number.isFinite(at))
      this.skew?.record(m.name, estimateOffset(at, producedAt, delayMs), this.clock.now());
    const peers = new Map<string, ReceivedPeer>(view.peers.map(({ name, ...rest }) => [name, rest]));
    this.views.set(m.name, {
      node: m.name,
      receivedAt: producedAt,
      peers,
      inFlight: view.in_flight ?? [],
      ...(view.degraded === true ? { degraded: true } : {}),
      rttMs,
      ...(arrivedAt === undefined ? {} : { arrivedAt }),
      ...(view.unfit === undefined ? {} : { unfit: view.unfit }),
    });
    if (this.lastError.delete(m.name))
      this.logger.info({ member: m.name }, "mesh view of member received again");
    const waiting = this.waiters.get(m.name);
    if (waiting !== undefined) for (const done of [...waiting]) done(true);
  }

  /**
   * One round of `m` with streams: nothing while its stream is live (views arrive on it);
   * otherwise a new stream, or one polled view while `m` cannot stream.
   */
  private async streamMember(m: Member, stop: AbortSignal): Promise<void> {
    if (stop.aborted) return;
    const now = this.clock.monotonic();
    const open = this.streams.get(m.name);
    if (open !== undefined && !open.conn.ended) {
      const quietMs = now - open.lastLineMono;
      if (quietMs <= this.quietLimitMs() && now - open.ask.mono < VIEW_STREAM_MAX_AGE_MS) return;
      this.streams.delete(m.name);
      open.conn.close();
      if (quietMs > this.quietLimitMs())
        this.logger.debug(
          { member: m.name, quiet_ms: Math.round(quietMs) },
          "mesh view stream of member went quiet: asked again",
        );
    }
    if ((this.pollUntil.get(m.name) ?? -Infinity) > now) {
      await this.pollMember(m, stop);
      return;
    }
    const mod = await viewSchema();
    if (stop.aborted) return;
    const ask = this.ask(m, true);
    const target = compileHttpTarget(ask.url, ask.headers);
    if (typeof target === "string") {
      this.reject(m, target);
      return;
    }
    const st: OpenStream = { ask, lastLineMono: now, lastSeq: 0, conn: undefined as unknown as ViewStream };
    st.conn = new ViewStream(
      target,
      { timeoutMs: this.timeoutMs, maxLineBytes: this.maxBytes, proofHeader: VIEW_PROOF_HEADER },
      {
        line: (proof, body) => this.streamLine(m, st, mod.verifyView, proof, body),
        single: (body, proof) => {
          // An older node, or a fetch-style host: it answers one view. Polled for a while.
          if (this.streams.get(m.name) === st) this.streams.delete(m.name);
          this.pollUntil.set(m.name, this.clock.monotonic() + VIEW_STREAM_RETRY_MS);
          const rttMs = this.clock.monotonic() - ask.mono;
          const checked = mod.verifyView(this.signerOf(m), body, proof, this.expectation(m, ask.nonce));
          if (checked.ok) this.record(m, checked.view, ask.wall, rttMs, rttMs);
          else this.reject(m, checked.error);
        },
        end: (out) => this.streamEnded(m, st, out),
      },
    );
    this.streams.set(m.name, st);
    await st.conn.first;
  }

  /** How long a live stream may go without a line before it is asked again, ms. */
  private quietLimitMs(): number {
    return 2 * this.intervalMs + this.timeoutMs;
  }

  /** One line of `m`'s stream: undefined when kept, else why the stream is cut. */
  private streamLine(
    m: Member,
    st: OpenStream,
    verify: typeof import("./view-schema.js").verifyView,
    proof: string,
    body: Buffer,
  ): string | undefined {
    const arrived = this.clock.monotonic();
    const checked = verify(this.signerOf(m), body, proof, this.expectation(m, st.ask.nonce));
    if (!checked.ok) return checked.error;
    const { seq, elapsed_ms } = checked.view;
    if (seq === undefined || elapsed_ms === undefined)
      return "streamed view carries no seq or elapsed_ms (not a view stream)";
    if (seq <= st.lastSeq) return `streamed view seq ${seq} after ${st.lastSeq} (replayed line?)`;
    st.lastSeq = seq;
    st.lastLineMono = arrived;
    const sinceAsked = Math.max(0, arrived - st.ask.mono);
    // Made no earlier than the request plus the member's time since it took it, and no
    // later than it arrived: a line held back on the way is dated as old as it is.
    const elapsed = Math.min(elapsed_ms, sinceAsked);
    const delayMs = sinceAsked - elapsed;
    this.record(
      m,
      checked.view,
      st.ask.wall + elapsed,
      delayMs,
      seq === 1 ? sinceAsked : delayMs,
      this.clock.now(),
    );
    return undefined;
  }

  private streamEnded(m: Member, st: OpenStream, out: StreamEnd): void {
    if (this.streams.get(m.name) === st) this.streams.delete(m.name);
    if (!this.running) return;
    this.roundSoon();
    if (out.answered && out.lines === 0) {
      // It answered a stream and sent nothing on it (something between buffers it?): polled for a while.
      this.pollUntil.set(m.name, this.clock.monotonic() + VIEW_STREAM_RETRY_MS);
    }
    if (out.lines > 0 && out.cause === undefined) {
      // The stream served views and ended (the member stopped, or a line was refused):
      // the next round asks again, and says why if that fails too.
      if (out.error !== "stream ended by the member") this.reject(m, out.error);
      else this.logger.debug({ member: m.name }, "mesh view stream of member ended");
      return;
    }
    this.failed(
      m,
      st.ask,
      out.error,
      this.clock.monotonic() - st.ask.mono,
      out.cause !== undefined,
      out.date,
    );
  }

  private reject(m: { name: string; url: string }, error: string, own = false): void {
    const fields = { member: m.name, url: safeOrigin(m.url), error };
    const msg = own
      ? "mesh view of member not asked for: this node's own trouble, not the member's"
      : "mesh view of member ignored";
    if (this.lastError.get(m.name) !== error) {
      this.lastError.set(m.name, error);
      this.logger.warn(fields, msg);
    } else {
      this.logger.debug(fields, msg);
    }
  }

  private async fetchView(
    url: string,
    headers: Record<string, string>,
    stop: AbortSignal,
  ): Promise<{ body: Buffer; proof: unknown } | { error: string; own?: boolean; date?: string }> {
    const target = compileHttpTarget(url, headers);
    if (typeof target === "string") return { error: target };
    const out = await this.client().get(target, {
      timeoutMs: this.timeoutMs,
      signal: stop,
      expectStatus: 200,
      collectBody: true,
      header: VIEW_PROOF_HEADER,
      keepDate: true,
    });
    // A typed cause: the member was never asked, or this node's own syscall failed.
    if (out.error !== undefined && out.cause !== undefined) return { error: out.error, own: true };
    if (out.error !== undefined || out.body === null)
      return { error: out.error ?? "no body", ...(out.date === undefined ? {} : { date: out.date }) };
    return { body: out.body, proof: out.header };
  }
}
