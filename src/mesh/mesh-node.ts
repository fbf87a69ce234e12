// The mesh side of one node, shared by the library's Monitor and the daemon (which
// builds its Monitor with the same `mesh` option): the other members registered as
// heartbeat-probed peers, the view poller, the remediation gate, and what this node
// serves to the others (heartbeat proof, signed view, the members list of /v1/mesh).
//
// Without a key, members are still watched (plain HTTP /health) but views cannot be
// authenticated, so none are exchanged and this node remediates its peers on its own;
// that is logged once as a warning.
import { parseDuration, type Duration } from "../core/duration.js";
import { InvalidOptionError } from "../core/errors.js";
import type { SelfHealthReport } from "../health/self-health.js";
import type { PeerSpec } from "../core/options.js";
import type { MonitorStats, PeerHealth, PeerStatus } from "../core/types.js";
import { silentLogger, type Logger } from "../logger.js";
import type { InFlightStep, RemediationGate } from "../monitor.js";
import { heartbeatProof } from "../probe/heartbeat-proof.js";
import type { Clock } from "../schedule/clock.js";
import { createMeshGate, type MeshGate } from "./gate.js";
import { CONFIRM_MODES, type ConfirmMode } from "./quorum.js";
import { defaultTakeoverAfterMs } from "./takeover.js";
import { buildView, viewProof, ViewPoller } from "./views.js";

/** Another node of the mesh: a wdmesh daemon or an agent that embeds Monitor with a mesh. */
export interface MeshMember {
  /** Its node name (the other side's `selfName` / `node.name`). */
  name: string;
  /** Base URL where it serves /health and /v1/mesh/view, e.g. http://10.0.0.2:9760. */
  url: string;
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
   * Reserved for per-node Ed25519 identities (instead of one shared key). Not available
   * in this version: passing it throws WDM_INVALID_OPTION.
   */
  identity?: never;
  /** The other nodes (not this one). Each is also watched as a peer: alert only, never restarted. */
  members: readonly MeshMember[];
  /**
   * How many nodes must see a target fail before it is remediated:
   * `any` one, `majority` of the configured nodes, `all`. Default "majority".
   */
  confirm?: ConfirmMode;
  /**
   * How long another node's started remediation step (restart, isolate) on a peer keeps
   * this node from acting on that peer when it has not seen the step finish (ms or a
   * duration string). Default: the peer's restart timeout (30 s unless set) plus its interval.
   */
  takeoverAfter?: Duration;
}

/** A member as this node sees it (GET /v1/mesh `members`). */
export interface MeshMemberView {
  name: string;
  url: string;
  /** Its health as probed by this node; UNKNOWN before the first probe. */
  status: PeerStatus;
  last_seen: string | null;
  /** Age of the latest verified view of this member, ms; null when none was received (or no mesh key). */
  view_age_ms?: number | null;
}

/** GET /v1/mesh: seed-compatible {self, peers, stats} plus node and members. */
export interface MeshView {
  self: string;
  node: string;
  /** The watched peers, members left out (they are listed in `members`). */
  peers: PeerHealth[];
  stats: MonitorStats;
  members: MeshMemberView[];
  /** Probe scheduling health: probes in flight, queued, and lateness (ms) of recent probes. */
  scheduler?: {
    in_flight: number;
    queued: number;
    lateness: { samples: number; p50_ms: number; p99_ms: number; max_ms: number };
  };
  /** This node's own health: degraded while it is too slow to trust its own deadlines. */
  self_health?: SelfHealthReport;
}

/** What MeshNode needs from its Monitor. */
export interface MeshHost {
  readonly selfName: string;
  registerPeer(spec: PeerSpec): void;
  getPeerStatus(name: string): PeerHealth | undefined;
  allPeers(): PeerHealth[];
  setGate(gate: RemediationGate | undefined): void;
  /** The spec a peer was registered with (its restart method and interval). */
  peerSpec(name: string): Readonly<PeerSpec> | undefined;
  /** Remediation steps this node has started and not finished (shared in its view). */
  inFlightSteps(): InFlightStep[];
}

export interface MeshNodeOptions {
  /** The monitor's interval, ms: views are polled this often. */
  intervalMs: number;
  /** The monitor's probe timeout, ms: deadline of one view request. */
  timeoutMs: number;
  logger?: Logger;
  clock?: Clock;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
/** Shortest accepted mesh key, characters (the config file asks the same). */
export const MIN_MESH_KEY_LENGTH = 16;

/** Throws InvalidOptionError naming the first bad field of `mesh`. */
export function validateMeshOptions(mesh: MeshOptions, selfName: string): void {
  if (typeof mesh !== "object" || mesh === null) throw new InvalidOptionError("mesh", "must be an object");
  if ((mesh as { identity?: unknown }).identity !== undefined) {
    throw new InvalidOptionError(
      "mesh.identity",
      "per-node identities are not available in this version; use mesh.key (a shared key)",
    );
  }
  if (mesh.key !== undefined && (typeof mesh.key !== "string" || mesh.key.length < MIN_MESH_KEY_LENGTH)) {
    throw new InvalidOptionError(
      "mesh.key",
      `must be a string of at least ${MIN_MESH_KEY_LENGTH} characters`,
    );
  }
  if (mesh.confirm !== undefined && !CONFIRM_MODES.includes(mesh.confirm)) {
    throw new InvalidOptionError(
      "mesh.confirm",
      `must be one of ${CONFIRM_MODES.join(", ")} (got ${JSON.stringify(mesh.confirm)})`,
    );
  }
  if (mesh.takeoverAfter !== undefined) parseDuration(mesh.takeoverAfter, "mesh.takeoverAfter");
  if (!Array.isArray(mesh.members)) throw new InvalidOptionError("mesh.members", "must be an array");
  const seen = new Set<string>();
  for (const [i, m] of mesh.members.entries()) {
    const f = `mesh.members[${i}]`;
    if (typeof m !== "object" || m === null) throw new InvalidOptionError(f, "must be { name, url }");
    if (typeof m.name !== "string" || !NAME.test(m.name)) {
      throw new InvalidOptionError(
        `${f}.name`,
        `${JSON.stringify(m.name)} is not a valid node name; use letters, digits and _ . @ - (max 128)`,
      );
    }
    if (m.name === selfName)
      throw new InvalidOptionError(`${f}.name`, `is this node (selfName); list only the other nodes`);
    if (seen.has(m.name)) throw new InvalidOptionError(`${f}.name`, `"${m.name}" is listed twice`);
    seen.add(m.name);
    let u: URL | undefined;
    try {
      u = new URL(String(m.url));
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.search !== "") {
      throw new InvalidOptionError(
        `${f}.url`,
        `${JSON.stringify(m.url)} must be the member's base http(s) URL without a query, e.g. http://10.0.0.2:9760`,
      );
    }
  }
}

/** How a member is watched: authenticated heartbeat with a key, plain GET /health without. */
export function memberPeerSpec(m: MeshMember, key: string | undefined): PeerSpec {
  const base = m.url.replace(/\/+$/, "");
  return {
    name: m.name,
    probe: key ? { heartbeat: { url: base, node: m.name, key } } : { http: { url: `${base}/health` } },
    restart: "none",
    isolate: "none",
    // Another watchdog is only watched: OFFLINE with one alert, never restarted or isolated.
    alertOnly: true,
  };
}

export class MeshNode {
  readonly self: string;
  readonly members: readonly MeshMember[];
  readonly confirm: ConfirmMode;
  private readonly key: string | undefined;
  private readonly host: MeshHost;
  private readonly memberNames: ReadonlySet<string>;
  /** Present only with a key and at least one member. */
  readonly poller: ViewPoller | undefined;
  readonly gate: MeshGate | undefined;

  /** Validates `mesh`, registers the members on `host` and installs the gate. */
  constructor(host: MeshHost, mesh: MeshOptions, opts: MeshNodeOptions) {
    validateMeshOptions(mesh, host.selfName);
    const logger = opts.logger ?? silentLogger;
    this.host = host;
    this.self = host.selfName;
    this.key = mesh.key;
    this.members = mesh.members.map((m) => ({ name: m.name, url: m.url }));
    this.memberNames = new Set(this.members.map((m) => m.name));
    this.confirm = mesh.confirm ?? "majority";
    for (const m of this.members) host.registerPeer(memberPeerSpec(m, this.key));
    if (this.members.length === 0) return;
    if (!this.key) {
      logger.warn(
        { members: this.members.map((m) => m.name) },
        "mesh.members without mesh.key: views cannot be authenticated, so they are not exchanged and this node remediates its peers on its own; set mesh.key on every node",
      );
      return;
    }
    const takeoverAfter =
      mesh.takeoverAfter === undefined ? undefined : parseDuration(mesh.takeoverAfter, "mesh.takeoverAfter");
    const poller = new ViewPoller({
      members: this.members,
      key: this.key,
      intervalMs: opts.intervalMs,
      timeoutMs: opts.timeoutMs,
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.poller = poller;
    this.gate = createMeshGate({
      self: this.self,
      members: this.members.map((m) => m.name),
      confirm: this.confirm,
      health: (peer) => host.getPeerStatus(peer),
      view: (member) => poller.latest(member),
      intervalMs: opts.intervalMs,
      takeoverAfterMs: (peer) => {
        if (takeoverAfter !== undefined) return takeoverAfter;
        const spec = host.peerSpec(peer);
        const interval = spec?.interval === undefined ? opts.intervalMs : parseDuration(spec.interval);
        return defaultTakeoverAfterMs(spec ?? {}, interval);
      },
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    host.setGate(this.gate);
  }

  /** True when `name` is a member (another node), not an ordinary peer. */
  isMember(name: string): boolean {
    return this.memberNames.has(name);
  }

  /** Starts polling the members' views (when there is anything to poll). Idempotent. */
  start(): void {
    this.poller?.start();
  }

  /** Stops polling and closes its connections. Idempotent. */
  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  /** `proof` of GET /health?nonce=N: hex HMAC-SHA256(key, "NAME:N"); undefined without a key. */
  healthProof(nonce: string): string | undefined {
    return this.key ? heartbeatProof(this.key, this.self, nonce) : undefined;
  }

  /** GET /v1/mesh/view: this node's view of its non-member peers and its proof; undefined without a key. */
  view(nonce: string | undefined, now: number): { body: string; proof: string } | undefined {
    if (!this.key) return undefined;
    const peers = this.host.allPeers().filter((p) => !this.memberNames.has(p.name));
    const gate = this.gate;
    const body = buildView(this.self, peers, now, nonce, {
      backing: (peer) => gate?.backing(peer),
      inFlight: this.host.inFlightSteps().map((f) => ({
        peer: f.peer,
        incident: f.incident,
        step: f.step,
        attempt: f.attempt,
        started_at: new Date(f.startedAt).toISOString(),
      })),
    });
    return { body, proof: viewProof(this.key, body) };
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
      };
    });
  }
}
