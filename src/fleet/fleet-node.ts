// This node's membership in a fleet coordinated by etcd (v3): one lease, kept alive by
// this node on its own timer; a member key, the node's observations and its step keys,
// all bound to that lease; and one watch on the fleet's prefix that keeps a local copy of
// every member, observation and step (no polling of other nodes), checked after each
// renewal against one small read (watch-check.ts: a stalled watch is replaced).
//
// Safety of a step (restart, isolate, release, fence):
//   - claimStep() takes the step key with a create-if-absent transaction bound to this
//     node's lease; the key's create revision is the step's fencing token, which the
//     executor carries to the host's step ledger (a newer token there refuses an older one).
//   - leaseValid() is true only within lease_ttl − request_timeout of the send time of the
//     last renewal etcd answered. etcd keeps the lease at least lease_ttl after it received
//     that renewal (later than it was sent), so a node cut off from etcd stops acting
//     before its lease (and its step keys) can expire for the others. With
//     keepalive_interval + 2 × request_timeout <= lease_ttl (leaseTimingProblem) a node
//     that renews on time never stops.
//   - checkToken(), just before acting: the lease still valid, the step key still there.
// etcd unreachable or without quorum: renewals fail, leaseValid() turns false, every
// coordinated step is held (holdReason() names etcd); probing and alerts go on.
import { performance } from "node:perf_hooks";
import type { Logger } from "../core/logger.js";
import { constantBackoff, skipFailedMembers, withDeadline } from "./etcd-policies.js";
import { copyBehind } from "./watch-check.js";
import { loadEtcd3, type Etcd3Lib } from "./etcd-load.js";
import {
  fleetKeys,
  type FleetKeys,
  type FleetMember,
  type FleetStatus,
  type MemberRecord,
  type StepRecord,
} from "./keys.js";

export type { FleetMember, FleetStatus } from "./keys.js";
import type { Etcd3, IKeyValue, Lease, Watcher } from "etcd3";

export interface FleetTls {
  /** PEM of the CA that signed etcd's certificates. */
  ca: string;
  /** PEM client certificate and key, for etcd's client-cert auth. */
  cert?: string;
  key?: string;
}

/** The etcd side of a fleet node (what `coordination.etcd` resolves to). */
export interface FleetEtcdOptions {
  endpoints: string[];
  prefix: string;
  tls?: FleetTls;
  /** etcd lease TTL, ms (whole seconds in etcd; rounded up). */
  leaseTtlMs: number;
  /** How often this node renews its lease, ms. */
  keepaliveIntervalMs: number;
  /** Deadline of one etcd request, ms. */
  requestTimeoutMs: number;
}

export interface FleetNodeOptions extends FleetEtcdOptions {
  node: string;
  host: string;
  /** This node's API base URL, listed in its member key (for /v1/sd). */
  url?: string;
  logger: Logger;
  /** Monotonic ms; default performance.now. */
  monoNow?: () => number;
  /** Wall-clock epoch ms for records; default Date.now. */
  now?: () => number;
}

export type StepClaim =
  { ok: true; token: string; key: string } | { ok: false; reason: string; holder?: StepRecord };

interface Entry {
  rev: bigint;
  kv: IKeyValue | null;
}

const FAILING = "failing";

export class FleetNode {
  private readonly keys: FleetKeys;
  private readonly mono: () => number;
  private readonly now: () => number;
  private client: Etcd3 | undefined;
  private leaseGone: Etcd3Lib["EtcdLeaseInvalidError"] | undefined;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private watcher: Watcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Failed rounds in a row (join or renewal). */
  private failuresInARow = 0;
  private stopped = false;
  private started = false;
  /** Monotonic send time of the last renewal (or grant) etcd answered. */
  private renewedSentAt: number | undefined;
  private lastError = "not connected yet";
  /** Local copy of the fleet's keys, each at its latest revision (null = deleted). */
  private readonly entries = new Map<string, Entry>();
  /** What this node last published per peer (true = failing). */
  private readonly published = new Map<string, boolean>();
  /** Observations to (re)publish, newest value per peer. */
  private readonly pendingObs = new Map<string, boolean>();
  private publishing: Promise<void> | undefined;
  /** Checks of the watch in a row that found the copy behind etcd (watch-check.ts). */
  private behind = 0;
  private checkingWatch = false;
  /** Step keys etcd did not let this node give up (key → token): retried on each renewal. */
  private readonly unfinished = new Map<string, string>();

  constructor(private readonly opts: FleetNodeOptions) {
    this.keys = fleetKeys(opts.prefix);
    this.mono = opts.monoNow ?? (() => performance.now());
    this.now = opts.now ?? Date.now;
  }

  get self(): string {
    return this.opts.node;
  }

  get host(): string {
    return this.opts.host;
  }

  /** Connects and joins (grants the lease, writes the member key, starts the watch). Never throws: a failure is retried on the keepalive timer. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { Etcd3, EtcdLeaseInvalidError } = await loadEtcd3();
    this.leaseGone = EtcdLeaseInvalidError;
    if (this.stopped) return;
    const tls = this.opts.tls;
    this.client = new Etcd3({
      hosts: this.opts.endpoints,
      dialTimeout: this.opts.requestTimeoutMs,
      ...(tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(tls.ca),
              ...(tls.key ? { privateKey: Buffer.from(tls.key) } : {}),
              ...(tls.cert ? { certChain: Buffer.from(tls.cert) } : {}),
            },
          }
        : {}),
      defaultCallOptions: (ctx) =>
        ctx.isStream ? {} : { deadline: Date.now() + this.opts.requestTimeoutMs },
      faultHandling: {
        // Not etcd3's default circuit breaker (it refuses a member for 5 s after three
        // failures, long enough to cost this node its lease when etcd comes back): a member
        // that just failed is skipped while another has not failed, for as long as a retry
        // could take, and this node paces its own retries.
        host: skipFailedMembers(this.opts.requestTimeoutMs + this.opts.keepaliveIntervalMs),
        // The watch reconnects every second (not after up to 30 s): a stale view of the
        // fleet would outlive the lease rule's margins.
        watchBackoff: constantBackoff(1_000),
      },
    });
    await this.tick();
  }

  /** Leaves: revokes the lease (its keys vanish at once) when etcd answers, closes the client. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const lease = this.lease;
    this.lease = undefined;
    this.renewedSentAt = undefined;
    try {
      await this.watcher?.cancel();
    } catch {
      // closing anyway
    }
    if (lease) await this.deadline(lease.revoke(), "revoke").catch(() => lease.release());
    this.client?.close();
  }

  /** True while this node may act on coordinated steps (see the file's header). */
  leaseValid(): boolean {
    if (this.renewedSentAt === undefined || this.lease === undefined) return false;
    return this.mono() - this.renewedSentAt < this.opts.leaseTtlMs - this.opts.requestTimeoutMs;
  }

  /** Why coordinated steps are held now, or undefined when this node may act. */
  holdReason(): string | undefined {
    if (this.leaseValid()) return undefined;
    const since =
      this.renewedSentAt === undefined
        ? ""
        : ` for ${Math.round((this.mono() - this.renewedSentAt) / 1000)} s`;
    return `etcd unreachable or without quorum${since} (${this.lastError}): no lease, so no coordinated step`;
  }

  /** Live members (their lease not expired), by name. */
  members(): FleetMember[] {
    const out: FleetMember[] = [];
    for (const [key, e] of this.entries) {
      if (!e.kv || !key.startsWith(this.keys.members)) continue;
      const rec = parse<MemberRecord>(e.kv.value);
      if (rec) out.push({ ...rec, lease: BigInt(e.kv.lease).toString(16) });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node));
  }

  /** Live members on `host`. */
  membersOn(host: string): FleetMember[] {
    return this.members().filter((m) => m.host === host);
  }

  /** What each live member published about `peer`: who sees it failing, who sees it ok. */
  observations(peer: string): { failing: string[]; ok: string[] } {
    const live = new Set(this.members().map((m) => m.node));
    const failing: string[] = [];
    const ok: string[] = [];
    const prefix = `${this.keys.observations}${peer}/`;
    for (const [key, e] of this.entries) {
      if (!e.kv || !key.startsWith(prefix)) continue;
      const node = key.slice(prefix.length);
      if (!live.has(node)) continue;
      (e.kv.value.toString() === FAILING ? failing : ok).push(node);
    }
    return { failing: failing.sort(), ok: ok.sort() };
  }

  /** The step in progress on `peer` (from the watch), with its token. */
  stepOn(peer: string): (StepRecord & { token: string; mine: boolean }) | undefined {
    return this.heldBy(this.keys.step(peer));
  }

  /** Who holds the down key of `host` (from the watch): the node reporting it unreachable. */
  hostDownBy(host: string): (StepRecord & { token: string; mine: boolean }) | undefined {
    return this.heldBy(this.keys.fence(host));
  }

  private heldBy(key: string): (StepRecord & { token: string; mine: boolean }) | undefined {
    const e = this.entries.get(key);
    const rec = e?.kv ? parse<StepRecord>(e.kv.value) : undefined;
    if (!e?.kv || !rec) return undefined;
    return { ...rec, token: e.kv.create_revision, mine: this.isMine(e.kv) };
  }

  /**
   * Publishes this node's view of `peer` when it changed since the last publish (one
   * write per change, none in steady state).
   */
  observe(peer: string, failing: boolean): void {
    if (this.published.get(peer) === failing && !this.pendingObs.has(peer)) return;
    this.pendingObs.set(peer, failing);
    this.flushObservations();
  }

  /** Takes the step on `peer` (create-if-absent, bound to this node's lease). */
  async claimStep(peer: string, kind: StepRecord["kind"]): Promise<StepClaim> {
    return this.claim(this.keys.step(peer), kind);
  }

  /** Takes the incident of `host` being down (create-if-absent, bound to this node's lease): its one reporter and fencer. */
  async claimHostDown(host: string): Promise<StepClaim> {
    return this.claim(this.keys.fence(host), "fence");
  }

  /** The live members on `host`, read from etcd now (linearizable), not from the watch. */
  async readMembersOn(host: string): Promise<MemberRecord[]> {
    const client = this.client;
    if (!client) throw new Error("not connected to etcd");
    const res = await this.deadline(client.getAll().prefix(this.keys.members).exec(), "read members");
    return res.kvs
      .map((kv) => parse<MemberRecord>(kv.value))
      .filter((m): m is MemberRecord => m?.host === host);
  }

  /**
   * This node's check just before it acts with `token`: undefined when it may act, else
   * why not (its lease may have expired, or the key is gone or was taken again since).
   */
  async checkToken(key: string, token: string): Promise<string | undefined> {
    const held = this.holdReason();
    if (held) return `fencing token ${token} refused here: ${held}`;
    const client = this.client;
    if (!client) return `fencing token ${token} refused here: not connected to etcd`;
    try {
      const res = await this.deadline(client.get(key).exec(), "get step key");
      const kv = res.kvs[0];
      if (!kv) return `fencing token ${token} refused here: the step key is gone (this node's lease expired)`;
      if (kv.create_revision !== token || !this.isMine(kv))
        return `fencing token ${token} refused here: the step was taken again since (token ${kv.create_revision})`;
      const late = this.holdReason();
      return late ? `fencing token ${token} refused here: ${late}` : undefined;
    } catch (err) {
      return `fencing token ${token} refused here: etcd did not answer (${errText(err)})`;
    }
  }

  /** Gives the step key up (only when it is still this node's). Never throws: a failure is tried again on the next renewal. */
  async finishStep(key: string, token: string): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await this.deadline(
        client.if(key, "Create", "==", token).then(client.delete().key(key)).commit(),
        "finish step",
      );
      if (this.unfinished.get(key) === token) this.unfinished.delete(key);
    } catch (err) {
      this.unfinished.set(key, token);
      this.opts.logger.warn(
        { key, err: errText(err) },
        "fleet: could not give up a step key; trying again on the next lease renewal",
      );
    }
  }

  status(): FleetStatus {
    const steps: FleetStatus["steps"] = [];
    for (const [key, e] of this.entries) {
      if (!e.kv || !key.startsWith(this.keys.steps)) continue;
      const rec = parse<StepRecord>(e.kv.value);
      if (rec) steps.push({ ...rec, peer: key.slice(this.keys.steps.length), token: e.kv.create_revision });
    }
    const held = this.holdReason() ?? null;
    return {
      node: this.opts.node,
      host: this.opts.host,
      etcd:
        this.renewedSentAt === undefined && this.lastError === "not connected yet"
          ? "starting"
          : held
            ? "unreachable"
            : "ok",
      held,
      lease: this.leaseId ? BigInt(this.leaseId).toString(16) : null,
      members: this.members(),
      steps,
    };
  }

  // ---- internals ----

  private async claim(key: string, kind: StepRecord["kind"]): Promise<StepClaim> {
    const held = this.holdReason();
    if (held) return { ok: false, reason: held };
    const client = this.client;
    const leaseId = this.leaseId;
    if (!client || !leaseId) return { ok: false, reason: "not joined to the fleet yet" };
    const rec: StepRecord = { node: this.opts.node, host: this.opts.host, kind, at: this.now() };
    try {
      const res = await this.deadline(
        client
          .if(key, "Create", "==", 0)
          .then(client.put(key).value(JSON.stringify(rec)).lease(leaseId))
          .else(client.get(key))
          .commit(),
        "claim step",
      );
      if (res.succeeded) return { ok: true, token: res.header.revision, key };
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv && this.isMine(kv)) return { ok: true, token: kv.create_revision, key };
      const holder = kv ? parse<StepRecord>(kv.value) : undefined;
      return {
        ok: false,
        reason: `the step is taken by ${holder?.node ?? "another node"} (token ${kv?.create_revision ?? "?"})`,
        ...(holder ? { holder } : {}),
      };
    } catch (err) {
      return { ok: false, reason: `etcd did not answer the step claim (${errText(err)}): step held` };
    }
  }

  private isMine(kv: IKeyValue): boolean {
    return this.leaseId !== undefined && kv.lease !== "0" && BigInt(kv.lease) === BigInt(this.leaseId);
  }

  /** One round: join if needed, else renew; then the next round after keepalive_interval. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    let failed = false;
    try {
      if (!this.lease) await this.join();
      else await this.renew();
    } catch (err) {
      failed = true;
      this.lastError = errText(err);
      this.opts.logger.warn(
        { err: this.lastError, held: this.holdReason() !== undefined },
        "fleet: etcd request failed",
      );
    }
    if (this.stopped) return;
    // A failed renewal (e.g. sent to a member that is cut off) is retried at once through
    // another member, 100 ms later, even when this node already stopped acting (etcd may
    // still hold its lease: renewing it now keeps the host from being taken for down);
    // after three failures in a row, or not joined: every second.
    this.failuresInARow = failed ? this.failuresInARow + 1 : 0;
    const next = failed
      ? this.lease && this.failuresInARow <= 3
        ? 100
        : Math.min(this.opts.keepaliveIntervalMs, 1_000)
      : !this.leaseValid()
        ? Math.min(this.opts.keepaliveIntervalMs, 1_000)
        : this.opts.keepaliveIntervalMs;
    this.timer = setTimeout(() => void this.tick(), next);
    this.timer.unref?.();
  }

  private async join(): Promise<void> {
    const client = this.client!;
    const sentAt = this.mono();
    const lease = client.lease(Math.ceil(this.opts.leaseTtlMs / 1000), { autoKeepAlive: false });
    lease.on("lost", () => {});
    let id: string;
    try {
      id = await this.deadline(lease.grant(), "lease grant");
    } catch (err) {
      lease.release();
      throw err;
    }
    const rec: MemberRecord = {
      node: this.opts.node,
      host: this.opts.host,
      ...(this.opts.url ? { url: this.opts.url } : {}),
      since: this.now(),
    };
    await this.deadline(
      client.put(this.keys.member(this.opts.node)).value(JSON.stringify(rec)).lease(id).exec(),
      "join",
    );
    this.lease = lease;
    this.leaseId = id;
    this.renewedSentAt = sentAt;
    this.opts.logger.info(
      { node: this.opts.node, host: this.opts.host, lease: BigInt(id).toString(16) },
      "fleet: joined",
    );
    // A new lease: what this node published under the old one is gone; publish again.
    for (const [peer, failing] of this.published) this.pendingObs.set(peer, failing);
    this.published.clear();
    this.unfinished.clear(); // bound to the old lease: gone with it
    await this.resync();
    this.flushObservations();
  }

  private async renew(): Promise<void> {
    const lease = this.lease!;
    const sentAt = this.mono();
    try {
      await this.deadline(
        lease.keepaliveOnce({ deadline: Date.now() + this.opts.requestTimeoutMs }),
        "lease renewal",
      );
    } catch (err) {
      if (this.leaseGone && err instanceof this.leaseGone) {
        // Expired for the others already (etcd3 names no error class: instanceof, not name):
        // every key of this node is gone. Join again.
        this.opts.logger.warn(
          { lease: this.leaseId },
          "fleet: lease expired; joining again with a new lease",
        );
        this.lease = undefined;
        this.leaseId = undefined;
        this.renewedSentAt = undefined;
        lease.release();
      }
      throw err;
    }
    const wasValid = this.leaseValid();
    this.renewedSentAt = sentAt;
    if (!wasValid) {
      this.opts.logger.info({}, "fleet: etcd reachable again");
      await this.resync();
    }
    if (this.pendingObs.size > 0) this.flushObservations();
    void this.checkWatch();
    // Step keys etcd did not let this node give up when their step ended.
    for (const [key, token] of [...this.unfinished]) void this.finishStep(key, token);
  }

  /**
   * Two checks in a row that find the copy behind etcd (one may just precede the watch's
   * events): the prefix is read again whole. A stalled watch stays (etcd3 shares one
   * stream among its watchers, so a new one would stall on it too); it resumes, or errors
   * and reconnects, on its own, and the copy is kept by these reads meanwhile.
   */
  private async checkWatch(): Promise<void> {
    const client = this.client;
    if (!client || this.checkingWatch || this.stopped) return;
    this.checkingWatch = true;
    try {
      const res = await this.deadline(
        client.getAll().prefix(this.keys.root).sort("Mod", "Descend").limit(1).exec(),
        "check the watch",
      );
      const kv = res.kvs[0];
      const newest = kv && { key: kv.key.toString(), modRevision: BigInt(kv.mod_revision) };
      const behind = copyBehind(this.entries, { count: Number(res.count), ...(newest ? { newest } : {}) });
      this.behind = behind ? this.behind + 1 : 0;
      if (this.behind < 2 || this.stopped) return;
      this.behind = 0;
      this.opts.logger.warn({}, "fleet: the watch is behind etcd; reading the fleet again");
      await this.readAll();
    } catch (err) {
      this.opts.logger.debug({ err: errText(err) }, "fleet: could not check the watch");
    } finally {
      this.checkingWatch = false;
    }
  }

  /** A full read of the prefix into the copy; resolves with the revision it was read at. */
  private async readAll(): Promise<bigint> {
    const client = this.client!;
    const res = await this.deadline(client.getAll().prefix(this.keys.root).exec(), "read fleet");
    const seen = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      seen.add(key);
      this.apply(key, BigInt(kv.mod_revision), kv);
    }
    const rev = BigInt(res.header.revision);
    for (const [key, e] of this.entries) if (!seen.has(key) && e.rev <= rev) this.apply(key, rev, null);
    return rev;
  }

  /** A full read of the prefix, then the watch from the next revision. */
  private async resync(): Promise<void> {
    const client = this.client!;
    const rev = await this.readAll();
    if (this.watcher) return;
    const w = await this.deadline(
      client
        .watch()
        .prefix(this.keys.root)
        .startRevision(String(rev + 1n))
        .create(),
      "watch fleet",
    );
    if (this.stopped) {
      void w.cancel();
      return;
    }
    w.on("put", (kv) => this.apply(kv.key.toString(), BigInt(kv.mod_revision), kv));
    w.on("delete", (kv) => this.apply(kv.key.toString(), BigInt(kv.mod_revision), null));
    w.on("error", (err) => this.opts.logger.warn({ err: errText(err) }, "fleet: watch error"));
    this.watcher = w;
  }

  private apply(key: string, rev: bigint, kv: IKeyValue | null): void {
    const cur = this.entries.get(key);
    if (cur && cur.rev > rev) return;
    this.entries.set(key, { rev, kv });
  }

  private flushObservations(): void {
    if (this.publishing || !this.leaseValid() || this.pendingObs.size === 0) return;
    this.publishing = (async () => {
      try {
        while (this.pendingObs.size > 0 && this.leaseValid() && this.leaseId && this.client) {
          const [peer, failing] = this.pendingObs.entries().next().value as [string, boolean];
          this.pendingObs.delete(peer);
          try {
            await this.deadline(
              this.client
                .put(this.keys.obs(peer, this.opts.node))
                .value(failing ? FAILING : "ok")
                .lease(this.leaseId)
                .exec(),
              "publish observation",
            );
            this.published.set(peer, failing);
          } catch (err) {
            if (!this.pendingObs.has(peer)) this.pendingObs.set(peer, failing);
            this.lastError = errText(err);
            return;
          }
        }
      } finally {
        this.publishing = undefined;
      }
    })();
  }

  private deadline<T>(p: Promise<T>, what: string): Promise<T> {
    return withDeadline(p, this.opts.requestTimeoutMs, what);
  }
}

function parse<T>(v: Buffer): T | undefined {
  try {
    return JSON.parse(v.toString()) as T;
  } catch {
    return undefined;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
