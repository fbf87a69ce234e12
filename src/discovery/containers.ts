// Discovery of peers by container label: every container carrying the label (Docker or
// Podman, through the Docker Engine API) is a peer, registered, updated and removed as
// containers come and go.
//
// The engine's event stream (GET /events) says when to look again; what is looked at is
// always the full list (GET /containers/json?all=1 filtered by the label), so a lost or
// reordered event cannot leave a wrong peer behind. The list is also read once per
// `intervalMs` in case the stream is down. A container that is removed is a peer no
// more (removePeer: no alert; its journal and incidents stay). A list that fails
// (engine down) changes nothing: the node keeps its peers and says so.
import { containerSocketOf, type ContainerEngine } from "../core/container.js";
import { CONTAINER_DEFAULTS } from "../core/defaults.js";
import type { Logger } from "../core/logger.js";
import type { PeerSpec } from "../core/options.js";
import { EngineClient } from "../engine/client.js";
import { peerSpecFromLabels, type DiscoveredContainer } from "./container-labels.js";

/** What discovery needs of the Monitor. */
export interface PeerRegistry {
  registerPeer(spec: PeerSpec): void;
  updatePeer(spec: PeerSpec): void;
  removePeer(name: string): Promise<boolean>;
}

export interface ContainerDiscoveryOptions {
  engine: ContainerEngine;
  socket?: string;
  /** KEY or KEY=VALUE. */
  label: string;
  /** Deadline of each engine request, ms. */
  timeoutMs: number;
  /** The list is read again at least this often, ms (the node's probe interval). */
  intervalMs: number;
  /** Names already taken by configured peers: a container with one of them is not watched. */
  taken: (name: string) => boolean;
  logger: Logger;
  /** Wait before reopening a failed event stream, ms. */
  retryMs?: number;
  /**
   * Peers a previous discovery registered (name → JSON of its spec, from `owned()`),
   * handed over on a reload: kept while matched, updated if their spec differs, removed
   * (no alert) when no longer matched.
   */
  adopt?: ReadonlyMap<string, string>;
}

export class ContainerDiscovery {
  private readonly client: EngineClient;
  private readonly ownedSpecs = new Map<string, string>(); // peer name → JSON of its spec
  private readonly said = new Set<string>(); // problems already logged (once each)
  private abort: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private dirty = false;
  private streamLoop: Promise<void> | null = null;
  private listFailing = false;

  constructor(
    private readonly registry: PeerRegistry,
    private readonly opts: ContainerDiscoveryOptions,
  ) {
    for (const [name, json] of opts.adopt ?? []) this.ownedSpecs.set(name, json);
    this.client = new EngineClient({
      socket: containerSocketOf({ engine: opts.engine, ...(opts.socket ? { socket: opts.socket } : {}) }),
      engine: opts.engine,
      timeoutMs: opts.timeoutMs,
    });
  }

  /** Names of the peers discovery registered. */
  peers(): string[] {
    return [...this.ownedSpecs.keys()];
  }

  /** The registered peers with their specs (JSON), to hand over to a discovery that replaces this one. */
  owned(): Map<string, string> {
    return new Map(this.ownedSpecs);
  }

  /** Reads the list once, then follows the event stream. Idempotent. */
  async start(): Promise<void> {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    await this.reconcile();
    this.streamLoop = this.follow(abort.signal);
    this.arm();
  }

  /** Stops following the engine; the peers stay registered (the Monitor stops them). Idempotent. */
  async stop(): Promise<void> {
    const a = this.abort;
    if (!a) return;
    this.abort = null;
    a.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.streamLoop;
    await this.running;
  }

  private arm(): void {
    if (!this.abort) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reconcile().finally(() => this.arm());
    }, this.opts.intervalMs);
    this.timer.unref?.();
  }

  private async follow(signal: AbortSignal): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
    const retryMs = this.opts.retryMs ?? CONTAINER_DEFAULTS.eventsRetryMs;
    let failing = false;
    while (!signal.aborted) {
      const end = await this.client.stream(
        `/events?filters=${filters}`,
        (e) => this.onEvent(e),
        signal,
        () => {
          if (failing)
            this.opts.logger.info({ socket: this.client.opts.socket }, "container events: stream open again");
          failing = false;
          // Whatever happened while the stream was down is read from the list.
          void this.reconcile();
        },
      );
      if (signal.aborted) break;
      if (!end.ok && !failing) {
        failing = true;
        this.opts.logger.warn(
          { code: end.code, error: end.error },
          "container events: stream lost; containers are listed every interval meanwhile, retrying",
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, retryMs);
        signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
      });
    }
  }

  private onEvent(e: unknown): void {
    const action = typeof e === "object" && e !== null ? (e as { Action?: unknown }).Action : undefined;
    if (typeof action !== "string") return;
    // Events that change which containers exist or what they are called or labelled.
    if (/^(create|start|destroy|remove|rename|update)$/.test(action)) void this.reconcile();
  }

  /** Brings the registered peers in line with the engine's list. One at a time; coalesced. */
  reconcile(): Promise<void> {
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.dirty = false;
          await this.once();
        } while (this.dirty && this.abort);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async once(): Promise<void> {
    const filters = encodeURIComponent(JSON.stringify({ label: [this.opts.label] }));
    const r = await this.client.request<unknown[]>(
      "GET",
      `/containers/json?all=true&filters=${filters}`,
      undefined,
      this.abort?.signal,
    );
    if (!r.ok) {
      if (!this.listFailing) {
        this.listFailing = true;
        this.opts.logger.error(
          { code: r.code, error: r.error, peers: this.ownedSpecs.size },
          "container discovery: cannot list containers; keeping the peers found so far",
        );
      }
      return;
    }
    if (this.listFailing) this.opts.logger.info({}, "container discovery: the engine answers again");
    this.listFailing = false;
    const found = new Map<string, PeerSpec>();
    for (const c of listed(r.body)) {
      const out = peerSpecFromLabels(c, {
        engine: this.opts.engine,
        ...(this.opts.socket ? { socket: this.opts.socket } : {}),
      });
      if (!out.ok) {
        this.sayOnce(
          out.error,
          { container: c.name, error: out.error },
          "container discovery: container not watched",
        );
        continue;
      }
      const name = out.spec.name;
      if (!this.ownedSpecs.has(name) && this.opts.taken(name)) {
        this.sayOnce(
          `taken:${name}`,
          { container: c.name, peer: name },
          "container discovery: a configured peer already has this name; container not watched",
        );
        continue;
      }
      if (found.has(name)) {
        this.sayOnce(
          `dup:${name}`,
          { container: c.name, peer: name },
          "container discovery: two containers give the same peer name; only the first is watched",
        );
        continue;
      }
      found.set(name, out.spec);
    }
    for (const [name, spec] of found) {
      const json = JSON.stringify(spec);
      const had = this.ownedSpecs.get(name);
      if (had === json) continue;
      try {
        if (had === undefined) this.registry.registerPeer(spec);
        else this.registry.updatePeer(spec);
        this.ownedSpecs.set(name, json);
        this.opts.logger.info(
          { peer: name },
          had === undefined
            ? "container discovery: watching container"
            : "container discovery: container's labels changed",
        );
      } catch (err) {
        this.sayOnce(
          `bad:${name}:${json}`,
          { peer: name, error: err instanceof Error ? err.message : String(err) },
          "container discovery: container not watched",
        );
      }
    }
    for (const name of [...this.ownedSpecs.keys()]) {
      if (found.has(name)) continue;
      this.ownedSpecs.delete(name);
      await this.registry.removePeer(name);
      this.opts.logger.info(
        { peer: name },
        "container discovery: container gone; peer removed (its history stays)",
      );
    }
  }

  private sayOnce(key: string, obj: object, msg: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.opts.logger.warn(obj, msg);
  }
}

function listed(body: unknown): DiscoveredContainer[] {
  if (!Array.isArray(body)) return [];
  const out: DiscoveredContainer[] = [];
  for (const raw of body) {
    if (!raw || typeof raw !== "object") continue;
    const c = raw as { Id?: unknown; Names?: unknown; Labels?: unknown };
    const names = Array.isArray(c.Names) ? c.Names.filter((n): n is string => typeof n === "string") : [];
    const name = (names[0] ?? "").replace(/^\//, "");
    if (typeof c.Id !== "string" || name === "") continue;
    const labels: Record<string, string> = {};
    if (c.Labels && typeof c.Labels === "object") {
      for (const [k, v] of Object.entries(c.Labels)) if (typeof v === "string") labels[k] = v;
    }
    out.push({ id: c.Id, name, labels });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
