// The mesh side of one node, shared by the library's Monitor and the daemon (which
// builds its Monitor with the same `mesh` option): the other members registered as
// heartbeat-probed peers, the view poller, the remediation gate, and what this node
// serves to the others (heartbeat proof, signed view, the members list of /v1/mesh).
//
// Without a key, members are still watched (plain HTTP /health) but views cannot be
// authenticated, so none are exchanged and this node remediates its peers on its own;
// that is logged once as a warning.
import { memberUrlProblem } from "./member-url.js";
import { withoutTrailingSlash } from "../core/base-url.js";
import { parseDuration, type Duration } from "../core/duration.js";
import { InvalidOptionError } from "../core/errors.js";
import { nameProblem, SECRET_MIN_LENGTH } from "../core/rules.js";
import type { PeerSpec, ProbeSpec } from "../core/options.js";
import type {
  MeshMemberView,
  MeshView,
  MonitorStats,
  PeerCount,
  PeerHealth,
  ProbeResult,
} from "../core/types.js";
import type { SelfHealthReport } from "../health/self-health.js";
import { silentLogger, type Logger } from "../core/logger.js";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { TokenSet } from "../http/auth.js";
import { sendJsonText } from "../http/http-error.js";
import type { InFlightStep } from "../core/gate.js";
import { boundHeartbeatProof, heartbeatMessage, heartbeatProof } from "../probe/heartbeat-proof.js";
import { createHash } from "node:crypto";
import { hmacSha256 } from "../core/hmac.js";
import { systemClock, type Clock } from "../schedule/clock.js";
import { createMeshGate, type MeshGate } from "./gate.js";
import {
  duplicateKeys,
  loadIdentity,
  ownPublicKey,
  parsePublicKey,
  type Identity,
} from "../core/identity.js";
import { CONFIRM_MODES, type ConfirmMode } from "./quorum.js";
import { defaultTakeoverAfterMs } from "./takeover.js";
import { meshRoutes, nonceProblem, readAllowed } from "./routes.js";
import { ViewRequestVerifier } from "./view-auth.js";
import { ViewHeartbeats } from "./view-heartbeat.js";
import { buildView, signView, viewInFlight, ViewPoller } from "./views.js";
import { ViewStreams, type StreamMark } from "./view-stream.js";
import { MESH_DEFAULTS } from "../core/defaults.js";
import { randomUUID } from "node:crypto";
import { ClockSkew, type SkewEntry } from "./clock-skew.js";

/** Another node of the mesh: a wdmesh daemon or an agent that embeds Monitor with a mesh. */
export interface MeshMember {
  /** Its node name (the other side's `selfName` / `node.name`). */
  name: string;
  /** Base URL where it serves /health and /v1/mesh/view, e.g. http://10.0.0.2:9760. */
  url: string;
  /**
   * Its Ed25519 public key (base64, printed by `wdmesh keygen`). When given, its
   * heartbeats, views and view requests must carry its own signature; the mesh key no
   * longer speaks for it.
   */
  publicKey?: string;
}

/** Monitor option `mesh`: this node is one node of a mesh that watches each other. */
export interface MeshOptions {
  /**
   * Shared HMAC-SHA256 key (at least 16 characters) that every node of the mesh holds:
   * members prove their heartbeats with it and sign their views. Never logged.
   * Without it members are only probed (plain /health) and no views are exchanged.
   */
  key?: string;
  /**
   * This node's own Ed25519 private key (PKCS#8 PEM, `wdmesh keygen` writes one). With it
   * this node signs its heartbeats, views and view requests itself, and the members that
   * list its public key accept nothing else for it: a leaked key impersonates one node.
   */
  identity?: string;
  /** The other nodes (not this one). Each is also watched as a peer: alert only, never restarted. */
  members: readonly MeshMember[];
  /**
   * The mesh's identity (1 to 128 printable ASCII characters, the same on every node):
   * bound into every heartbeat proof and view, so an answer of another mesh fails even
   * when a node's identity key serves both. Default: derived from `key` when there is one,
   * else from the names of the nodes (this one and the members), which then must list
   * the same nodes everywhere.
   */
  id?: string;
  /**
   * How many nodes must see a target fail before it is remediated:
   * `any` one, `majority` of the configured nodes, `all`. Default "majority".
   */
  confirm?: ConfirmMode;
  /**
   * How long another node's started remediation step (restart, isolate) on a peer keeps
   * this node from acting on that peer when it has not seen the step finish (ms or a
   * duration string). A member that went silent while it may have been remediating the
   * peer blocks it as long, plus one interval, from when its view went stale (takeover.ts).
   * Default: the peer's restart timeout (30 s unless set) plus its interval.
   */
  takeoverAfter?: Duration;
}

export type { MeshMemberView, MeshView } from "../core/types.js";

/** What MeshNode needs from its Monitor. */
export interface MeshHost {
  readonly selfName: string;
  registerPeer(spec: PeerSpec): void;
  getPeerStatus(name: string): PeerHealth | undefined;
  allPeers(): PeerHealth[];
  /**
   * Each peer's name, status and missed count, sorted by name: those fields of allPeers()
   * without the rest of each PeerHealth (what a view lists). allPeers() when absent.
   */
  peerCounts?(): PeerCount[];
  /** The spec a peer was registered with (its restart method and interval). */
  peerSpec(name: string): Readonly<PeerSpec> | undefined;
  /** This node's own health: `degraded` while it is overloaded (it holds its steps). */
  selfHealthReport(): SelfHealthReport;
  stats(): MonitorStats;
  schedulerStats(): NonNullable<MeshView["scheduler"]>;
  /** Grows on every change of any peer's state or of the stats (cache key of /v1/mesh). */
  readonly version: number;
  /** Remediation steps this node started at or after `since` (epoch ms), running or finished. */
  recentSteps(since: number): InFlightStep[];
  /** Whether the state store commits (GET /v1/mesh `store`). */
  storeReport?(): NonNullable<MeshView["store"]>;
  /** Why this node is not fit to answer "ok" on GET /health (its store cannot commit), or undefined. */
  healthProblem?(): string | undefined;
}

export interface MeshNodeOptions {
  /** The monitor's interval, ms: views are polled this often. */
  intervalMs: number;
  /** The monitor's probe timeout, ms: deadline of one view request. */
  timeoutMs: number;
  logger?: Logger;
  clock?: Clock;
  /** Bearer token that reading /v1/mesh through `routes`/`handler` requires (Monitor option `readToken`). */
  readToken?: string;
  /** Journals (and alerts) a node-level entry: clock_skew and clock_skew_cleared. */
  journal?: (e: SkewEntry) => void;
}

/** Throws InvalidOptionError naming the first bad field of `mesh`. */
export function validateMeshOptions(mesh: MeshOptions, selfName: string): void {
  if (typeof mesh !== "object" || mesh === null) throw new InvalidOptionError("mesh", "must be an object");
  if (mesh.identity !== undefined) {
    if (typeof mesh.identity !== "string")
      throw new InvalidOptionError("mesh.identity", "must be a PEM string");
    loadIdentity(mesh.identity, "mesh.identity");
  }
  if (mesh.key !== undefined && (typeof mesh.key !== "string" || mesh.key.length < SECRET_MIN_LENGTH)) {
    throw new InvalidOptionError("mesh.key", `must be a string of at least ${SECRET_MIN_LENGTH} characters`);
  }
  if (mesh.confirm !== undefined && !CONFIRM_MODES.includes(mesh.confirm)) {
    throw new InvalidOptionError(
      "mesh.confirm",
      `must be one of ${CONFIRM_MODES.join(", ")} (got ${JSON.stringify(mesh.confirm)})`,
    );
  }
  if (mesh.takeoverAfter !== undefined) parseDuration(mesh.takeoverAfter, "mesh.takeoverAfter");
  if (mesh.id !== undefined && (typeof mesh.id !== "string" || nonceProblem(mesh.id) !== undefined))
    throw new InvalidOptionError("mesh.id", "must be 1 to 128 printable ASCII characters");
  if (!Array.isArray(mesh.members)) throw new InvalidOptionError("mesh.members", "must be an array");
  const own = mesh.identity === undefined ? undefined : ownPublicKey(mesh.identity);
  const dup = duplicateKeys(
    mesh.members.map((m) => (typeof m === "object" && m !== null ? m.publicKey : undefined)),
    own,
  )[0];
  if (dup) {
    throw new InvalidOptionError(
      `mesh.members[${dup.index}].publicKey`,
      dup.first < 0
        ? "is this node's own public key (mesh.identity); every node has its own key"
        : `is the same public key as mesh.members[${dup.first}] (${JSON.stringify(mesh.members[dup.first]?.name)}): one key holder would count as two nodes`,
    );
  }
  const seen = new Set<string>();
  for (const [i, m] of mesh.members.entries()) {
    const f = `mesh.members[${i}]`;
    if (typeof m !== "object" || m === null) throw new InvalidOptionError(f, "must be { name, url }");
    const badName = nameProblem(m.name);
    if (badName) throw new InvalidOptionError(`${f}.name`, `${JSON.stringify(m.name)} ${badName}`);
    if (m.name === selfName)
      throw new InvalidOptionError(`${f}.name`, `is this node (selfName); list only the other nodes`);
    if (seen.has(m.name)) throw new InvalidOptionError(`${f}.name`, `"${m.name}" is listed twice`);
    seen.add(m.name);
    if (m.publicKey !== undefined) {
      parsePublicKey(m.publicKey, `${f}.publicKey`);
      if (mesh.identity === undefined)
        throw new InvalidOptionError(
          "mesh.identity",
          `is required when a member has a publicKey (${f}): that member expects this node to sign with its own identity too`,
        );
    } else if (mesh.key === undefined && mesh.identity !== undefined) {
      throw new InvalidOptionError(
        `${f}.publicKey`,
        "is required without mesh.key: with identities, each member is verified with its own public key",
      );
    }
    const badUrl = memberUrlProblem(m.url);
    if (badUrl !== undefined) throw new InvalidOptionError(`${f}.url`, badUrl);
  }
}

/**
 * The mesh's identity: `mesh.id`, else derived from the mesh key (16 hex characters of
 * HMAC-SHA256(key, "wdmesh-mesh-id")), else from the sorted names of every node.
 */
export function meshIdentity(mesh: MeshOptions, self: string): string {
  if (mesh.id !== undefined) return mesh.id;
  if (mesh.key !== undefined) return hmacSha256(mesh.key, "wdmesh-mesh-id").toString("hex").slice(0, 16);
  const names = [self, ...mesh.members.map((m) => m.name)].sort();
  return createHash("sha256").update(names.join("\n")).digest("hex").slice(0, 16);
}

/**
 * How a member is watched: a heartbeat signed with its own identity when it has a public
 * key, one proven with the mesh key otherwise, plain GET /health without either.
 */
export function memberPeerSpec(m: MeshMember, key: string | undefined, self: string, mesh: string): PeerSpec {
  const base = withoutTrailingSlash(m.url);
  const probe: PeerSpec["probe"] = m.publicKey
    ? { heartbeat: { url: base, node: m.name, publicKey: m.publicKey, from: self, mesh } }
    : key
      ? { heartbeat: { url: base, node: m.name, key, from: self, mesh } }
      : { http: { url: `${base}/health` } };
  return {
    name: m.name,
    probe,
    restart: "none",
    isolate: "none",
    // Another watchdog is only watched: OFFLINE with one alert, never restarted or isolated.
    alertOnly: true,
  };
}

export class MeshNode {
  readonly self: string;
  /** This node's name (as the routes answer it). */
  readonly selfName: string;
  readonly members: readonly MeshMember[];
  readonly confirm: ConfirmMode;
  /** The mesh's identity, bound into heartbeat proofs and views (MeshOptions.id). */
  readonly meshId: string;
  private readonly key: string | undefined;
  private readonly identity: Identity | undefined;
  private readonly viewRequests: ViewRequestVerifier;
  private readonly host: MeshHost;
  private readonly memberNames: ReadonlySet<string>;
  /** Present only with a key and at least one member. */
  readonly poller: ViewPoller | undefined;
  /** The view streams this node serves its members (with the poller). */
  private readonly viewStreams: ViewStreams | undefined;
  /** Members' heartbeats answered by their views (with the poller). */
  private readonly viewHeartbeats: ViewHeartbeats | undefined;
  readonly gate: MeshGate | undefined;
  private takeoverAfter: number | undefined;
  private intervalMs = 0;
  private readonly clock: Clock;
  private meshCache: { version: string; text: string } | null = null;
  /** Each member's clock offset, measured from the view exchange (clock-skew.ts). */
  readonly skew: ClockSkew;
  /** Tokens that reading /v1/mesh through `routes`/`handler` requires (option `readToken`). */
  readonly readTokens: TokenSet;

  /** Validates `mesh`, registers the members on `host` and builds the gate (the Monitor asks it for `gate`). */
  constructor(host: MeshHost, mesh: MeshOptions, opts: MeshNodeOptions) {
    if (
      opts.readToken !== undefined &&
      (typeof opts.readToken !== "string" || opts.readToken.length < SECRET_MIN_LENGTH)
    ) {
      throw new InvalidOptionError(
        "readToken",
        `must be a string of at least ${SECRET_MIN_LENGTH} characters`,
      );
    }
    this.readTokens = new TokenSet([opts.readToken]);
    validateMeshOptions(mesh, host.selfName);
    const logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.skew = new ClockSkew({
      selfName: host.selfName,
      boundMs: MESH_DEFAULTS.clockSkewBoundMs,
      newId: randomUUID,
      ...(opts.journal ? { journal: opts.journal } : {}),
    });
    this.host = host;
    this.self = host.selfName;
    this.selfName = host.selfName;
    this.key = mesh.key;
    this.identity = mesh.identity === undefined ? undefined : loadIdentity(mesh.identity, "mesh.identity");
    this.members = mesh.members.map((m) => ({
      name: m.name,
      url: m.url,
      ...(m.publicKey === undefined ? {} : { publicKey: m.publicKey }),
    }));
    this.memberNames = new Set(this.members.map((m) => m.name));
    this.meshId = meshIdentity(mesh, this.self);
    this.confirm = mesh.confirm ?? MESH_DEFAULTS.confirm;
    const members = this.members.map((m) => ({
      name: m.name,
      url: m.url,
      ...(m.publicKey === undefined ? {} : { publicKey: parsePublicKey(m.publicKey) }),
    }));
    this.viewRequests = new ViewRequestVerifier({
      self: this.self,
      ...(this.key ? { key: this.key } : {}),
      members,
    });
    for (const m of this.members) host.registerPeer(memberPeerSpec(m, this.key, this.self, this.meshId));
    if (this.members.length === 0) return;
    if (!this.key && !this.identity) {
      logger.warn(
        { members: this.members.map((m) => m.name) },
        "mesh.members without mesh.key: views cannot be authenticated, so they are not exchanged and this node remediates its peers on its own; set mesh.key on every node",
      );
      return;
    }
    this.takeoverAfter =
      mesh.takeoverAfter === undefined ? undefined : parseDuration(mesh.takeoverAfter, "mesh.takeoverAfter");
    this.intervalMs = opts.intervalMs;
    const poller = new ViewPoller({
      members,
      self: this.self,
      ...(this.key ? { key: this.key } : {}),
      ...(this.identity ? { identity: this.identity } : {}),
      meshId: this.meshId,
      intervalMs: opts.intervalMs,
      timeoutMs: opts.timeoutMs,
      logger,
      skew: this.skew,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.poller = poller;
    this.viewStreams = new ViewStreams({
      clock: this.clock,
      view: (nonce, requester, mark) => this.meshView(nonce, requester, mark),
    });
    this.viewHeartbeats = new ViewHeartbeats(
      this.members,
      (member) => poller.latest(member),
      (member, ms, signal) => poller.waitView(member, ms, signal),
    );
    this.gate = createMeshGate({
      self: this.self,
      members: this.members.map((m) => m.name),
      confirm: this.confirm,
      health: (peer) => host.getPeerStatus(peer),
      view: (member) => poller.latest(member),
      intervalMs: opts.intervalMs,
      takeoverAfterMs: (peer) => this.takeoverAfterMs(peer),
      selfDegraded: () => host.selfHealthReport().status === "degraded",
      ownTrouble: (member) => poller.ownTroubleOf(member),
      skewOf: (member) => this.skew.refusalReason(member),
      lastOwnStepAt: (peer) => {
        let last: number | undefined;
        for (const s of host.recentSteps(0)) if (s.peer === peer) last = Math.max(last ?? 0, s.startedAt);
        return last;
      },
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
  }

  /** takeover_after of `peer`, ms: mesh.takeoverAfter, or its restart timeout plus its interval. */
  takeoverAfterMs(peer: string): number {
    if (this.takeoverAfter !== undefined) return this.takeoverAfter;
    const spec = this.host.peerSpec(peer);
    const interval = spec?.interval === undefined ? this.intervalMs : parseDuration(spec.interval);
    return defaultTakeoverAfterMs(spec ?? {}, interval);
  }

  /** True when `name` is a member (another node), not an ordinary peer. */
  isMember(name: string): boolean {
    return this.memberNames.has(name);
  }

  /** Starts polling the members' views (when there is anything to poll). Idempotent. */
  start(): void {
    this.viewStreams?.start();
    this.poller?.start();
  }

  /**
   * A member's heartbeat at `now` answered by the view it served since its previous
   * heartbeat (view-heartbeat.ts); undefined when the heartbeat must be probed.
   */
  heartbeatFromView(
    spec: ProbeSpec,
    now: number,
    waitMs: number,
    signal: AbortSignal,
  ): ProbeResult | undefined | Promise<ProbeResult | undefined> {
    return this.viewHeartbeats?.answerOrWait(spec, now, waitMs, signal);
  }

  /**
   * True when `spec` is a member's heartbeat that its views can answer: it is due at the
   * interval's boundaries on the wall clock, where the members send their views.
   */
  isViewHeartbeat(spec: ProbeSpec): boolean {
    return this.viewHeartbeats?.isMember(spec) === true;
  }

  /** Stops polling and closes its connections. Idempotent. */
  async stop(): Promise<void> {
    this.closeViewStreams();
    await this.poller?.stop();
  }

  /** Ends the view streams this node serves and refuses new ones until start(). Idempotent. */
  closeViewStreams(): void {
    this.viewStreams?.close();
  }

  /**
   * GET /v1/mesh/view?stream=1 of a member that signed its request: answers `res` with a
   * stream of views, one every `everyMs` (view-stream.ts). False when this node cannot
   * stream (no mesh key or members, stopped, or `res` is not on a socket).
   */
  streamView(res: ServerResponse, nonce: string, requester: string, everyMs: number): boolean {
    return this.viewStreams?.open(res, nonce, requester, everyMs) ?? false;
  }

  /** View streams this node serves now. */
  get viewStreamCount(): number {
    return this.viewStreams?.size ?? 0;
  }

  /**
   * `proof` of GET /health?nonce=N[&from=R]: hex HMAC-SHA256 under the mesh key of
   * "NAME:N", or with `from` of heartbeatMessage (bound to R and the mesh's identity);
   * undefined without a key.
   */
  healthProof(nonce: string, from?: string): string | undefined {
    if (!this.key) return undefined;
    return from === undefined
      ? heartbeatProof(this.key, this.self, nonce)
      : boundHeartbeatProof(this.key, this.self, from, nonce, this.meshId);
  }

  /**
   * `signature` of GET /health?nonce=N&from=R with this node's own identity (bound to its
   * name, the requester's and the nonce); undefined without an identity.
   */
  healthSignature(nonce: string, from: string): string | undefined {
    return this.identity?.sign(heartbeatMessage(this.self, from, nonce, this.meshId));
  }

  /**
   * Why a GET /v1/mesh/view request is not from a member that proved itself (signed
   * request: see view-auth.ts); undefined when it is.
   */
  viewRequestProblem(headers: IncomingHttpHeaders, nonce: string | undefined): string | undefined {
    return this.viewRequests.problem(headers, nonce, this.clock.now());
  }

  /** This node's wall clock, epoch ms (the Date header of a refused view request). */
  clockNow(): number {
    return this.clock.now();
  }

  /** GET /v1/mesh/view: this node's view of its non-member peers and its proof; undefined without a key or identity. */
  meshView(
    nonce?: string,
    requester?: string,
    stream?: StreamMark,
  ): { body: string; proof: string } | undefined {
    if (!this.key && !this.identity) return undefined;
    const now = this.clock.now();
    const peers = (this.host.peerCounts?.() ?? this.host.allPeers()).filter(
      (p) => !this.memberNames.has(p.name),
    );
    const gate = this.gate;
    const unfit = this.host.healthProblem?.();
    const body = buildView(this.self, peers, now, nonce, {
      degraded: this.host.selfHealthReport().status === "degraded",
      ...(unfit === undefined ? {} : { unfit }),
      ...(requester === undefined ? {} : { requester }),
      mesh: this.meshId,
      backing: (peer) => gate?.backing(peer),
      inFlight: viewInFlight(this.host.recentSteps(0), now, (peer) => this.takeoverAfterMs(peer)),
      ...(stream === undefined ? {} : { stream }),
    });
    return {
      body,
      proof: signView(body, {
        ...(this.key ? { key: this.key } : {}),
        ...(this.identity ? { identity: this.identity } : {}),
      }),
    };
  }

  /** The members as this node sees them (GET /v1/mesh `members`). */
  memberViews(): MeshMemberView[] {
    return this.members.map((m) => {
      const h = this.host.getPeerStatus(m.name);
      return {
        name: m.name,
        url: m.url,
        status: h?.status ?? "UNKNOWN",
        last_seen: h?.last_seen ?? null,
        view_age_ms: this.gate?.viewAgeMs(m.name) ?? null,
        clock_offset_ms: this.skew.offsetMs(m.name),
        view_via: this.poller?.viaOf(m.name) ?? null,
      };
    });
  }

  /**
   * GET /v1/mesh: seed-compatible {self, peers, stats} plus node, members (the other
   * mesh nodes, which are left out of `peers`) and scheduler.
   */
  meshDocument(): MeshView {
    return {
      self: this.self,
      node: this.self,
      peers: this.host.allPeers().filter((p) => !this.isMember(p.name)),
      stats: this.host.stats(),
      members: this.memberViews(),
      scheduler: this.host.schedulerStats(),
      self_health: this.host.selfHealthReport(),
      ...(this.host.storeReport ? { store: this.host.storeReport() } : {}),
    };
  }

  /** Why GET /health answers 503 "degraded" (the node's state store cannot commit); undefined when fit. */
  healthProblem(): string | undefined {
    return this.host.healthProblem?.();
  }

  /** meshDocument() serialised; rebuilt only when a probe result or an operator action changed something. */
  meshJson(): string {
    const version = `${this.host.version}/${this.skew.version}`;
    if (this.meshCache?.version !== version)
      this.meshCache = { version, text: JSON.stringify(this.meshDocument()) };
    return this.meshCache.text;
  }

  /**
   * Serves this node's mesh routes: GET /health (with `proof` for ?nonce= when there is
   * a mesh key), GET /v1/mesh/view (signed) and GET /v1/mesh, and returns true; returns
   * false without touching `res` for any other path, so an agent mounts the mesh inside
   * its own server: `if (!monitor.mesh.routes(req, res)) app(req, res)`.
   */
  readonly routes: (req: IncomingMessage, res: ServerResponse) => boolean = meshRoutes(this);

  /**
   * node:http handler: the mesh routes (see `routes`), and the /v1/mesh JSON on every
   * other path (the seed served it on any path).
   */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!this.routes(req, res) && readAllowed(this, req, res)) sendJsonText(res, 200, this.meshJson());
  };
}
