// A mesh of in-process nodes for unit tests of code that embeds Monitor with the `mesh`
// option: N Monitors in this process, each with its own FakeProber and RecordingExecutor,
// all on one FakeClock. Their views go over real HTTP on loopback (each node serves
// `monitor.mesh.routes` on 127.0.0.1, on a port the system picks), signed and verified as
// in production: the quorum a test sees is the shipped gate's, not a stand-in. Only the
// probes (targets and the members' heartbeats: up unless scripted) and the executor are
// fake. advance() moves the clock one interval at a time and, after each step, has every
// node fetch every other node's view once, so a test reads a quorum decision in fake time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Monitor, parseDuration } from "../index.js";
import type { Duration } from "../core/duration.js";
import { TESTING_DEFAULTS } from "../core/defaults.js";
import type { PeerSpec } from "../core/options.js";
import type { ConfirmMode } from "../mesh/quorum.js";
import type { MonitorOptions } from "../monitor-options.js";
import { FakeClock } from "./fake-clock.js";
import { FakeProber, probeKey, type Behaviour } from "./fake-prober.js";
import { RecordingExecutor, type ExecutorAction, type ExecutorCall } from "./recording-executor.js";

export interface TestMeshOptions {
  /** The nodes' names, or how many (named node-1, node-2, ...). Default 3. */
  nodes?: readonly string[] | number;
  /** How many nodes must see a target fail (mesh.confirm). Default "majority". */
  confirm?: ConfirmMode;
  /** The mesh key every node holds (at least 16 characters). Default a fixed test key. */
  key?: string;
  /** The clock every node runs on. Default a new FakeClock. */
  clock?: FakeClock;
  /** Probe interval (each view exchange of advance() follows one). Default "1s". */
  interval?: Duration;
  /**
   * Other Monitor options every node gets (timing, storm, logger...). The kit sets
   * selfName, clock, prober, executor and mesh, and the start jitter to 0 (`random`)
   * unless given here.
   */
  options?: Omit<MonitorOptions, "selfName" | "clock" | "prober" | "executor" | "mesh" | "interval">;
}

/** One node of a TestMesh. */
export interface TestMeshNode {
  readonly name: string;
  /** Its base URL on loopback (what the other nodes list as its member URL). */
  readonly url: string;
  readonly monitor: Monitor;
  readonly prober: FakeProber;
  readonly executor: RecordingExecutor;
}

/** An executor call and the node that made it. */
export interface MeshCall extends ExecutorCall {
  node: string;
}

export class TestMesh {
  readonly clock: FakeClock;
  readonly nodes: readonly TestMeshNode[];
  private readonly intervalMs: number;
  private readonly servers: Server[];
  private stopped = false;

  private constructor(clock: FakeClock, nodes: TestMeshNode[], servers: Server[], intervalMs: number) {
    this.clock = clock;
    this.nodes = nodes;
    this.servers = servers;
    this.intervalMs = intervalMs;
  }

  /** Builds the nodes and their loopback servers; call start() (or start the monitors yourself). */
  static async create(opts: TestMeshOptions = {}): Promise<TestMesh> {
    const names =
      typeof opts.nodes === "number" || opts.nodes === undefined
        ? Array.from({ length: opts.nodes ?? TESTING_DEFAULTS.meshNodes }, (_, i) => `node-${i + 1}`)
        : [...opts.nodes];
    if (names.length === 0) throw new Error("TestMesh: at least one node");
    const clock = opts.clock ?? new FakeClock();
    const interval = opts.interval ?? TESTING_DEFAULTS.meshIntervalMs;
    const intervalMs = parseDuration(interval, "interval");
    const handlers: Array<(req: IncomingMessage, res: ServerResponse) => void> = [];
    const servers = await Promise.all(
      names.map(
        (_, i) =>
          new Promise<Server>((resolve, reject) => {
            const s = createServer((req, res) => handlers[i]?.(req, res));
            s.once("error", reject).listen(0, "127.0.0.1", () => resolve(s));
          }),
      ),
    );
    const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
    const build = (name: string, i: number): TestMeshNode => {
      const prober = new FakeProber({ clock });
      const executor = new RecordingExecutor();
      const monitor = new Monitor({
        random: () => 0,
        ...opts.options,
        selfName: name,
        interval,
        clock,
        prober,
        executor,
        mesh: {
          key: opts.key ?? "watchdog-mesh-testing-key",
          ...(opts.confirm === undefined ? {} : { confirm: opts.confirm }),
          members: names.flatMap((n, j) => (j === i ? [] : [{ name: n, url: urls[j] as string }])),
        },
      });
      handlers[i] = (req, res) => {
        if (!monitor.mesh.routes(req, res)) res.writeHead(404).end();
      };
      return { name, url: urls[i] as string, monitor, prober, executor };
    };
    let nodes: TestMeshNode[];
    try {
      nodes = names.map(build);
    } catch (err) {
      await closeServers(servers); // an option the Monitor refuses leaves nothing listening
      throw err;
    }
    return new TestMesh(clock, nodes, servers, intervalMs);
  }

  /** The node named `name` (throws when there is none). */
  node(name: string): TestMeshNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`TestMesh: no node ${JSON.stringify(name)}`);
    return n;
  }

  /** Registers `spec` on every node (every node watches it). */
  registerPeer(spec: PeerSpec): void {
    for (const n of this.nodes) n.monitor.registerPeer(spec);
  }

  /** From the next probe on, `peer` (a registered peer or member) does `behaviour` on every node, or on `on` only. */
  script(peer: string, behaviour: Behaviour | readonly Behaviour[], on?: readonly string[]): void {
    for (const n of on === undefined ? this.nodes : on.map((x) => this.node(x))) {
      const spec = n.monitor.peerSpec(peer);
      if (!spec) throw new Error(`TestMesh: ${n.name} does not watch ${JSON.stringify(peer)}`);
      n.prober.set(probeKey(spec.probe), behaviour);
    }
  }

  /** Starts every node's Monitor (probing and view polling). Idempotent. */
  start(): void {
    for (const n of this.nodes) n.monitor.start();
  }

  /**
   * Moves the clock forward by `by` (ms or "30s"), one interval at a time; after each
   * step every node fetches every other node's view once (real HTTP on loopback).
   */
  async advance(by: Duration): Promise<void> {
    let left = parseDuration(by, "advance");
    while (left > 0) {
      const step = Math.min(this.intervalMs, left);
      await this.clock.advance(step);
      await this.exchangeViews();
      left -= step;
    }
  }

  /** Every running node fetches every other node's view once, now. */
  async exchangeViews(): Promise<void> {
    await Promise.all(
      this.nodes.map((n) =>
        n.monitor.mesh.poller?.isRunning ? n.monitor.mesh.poller.pollOnce() : undefined,
      ),
    );
  }

  /** The executor calls of every node, oldest first per node (one action, optionally one peer). */
  calls(action: ExecutorAction, peer?: string): MeshCall[] {
    return this.nodes.flatMap((n) => n.executor.callsOf(action, peer).map((c) => ({ ...c, node: n.name })));
  }

  /** Stops every Monitor and closes the servers. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.monitor.stop()));
    await closeServers(this.servers);
  }
}

async function closeServers(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
}

/** A started-or-not mesh of in-process nodes: `TestMesh.create(opts)`. */
export function createTestMesh(opts: TestMeshOptions = {}): Promise<TestMesh> {
  return TestMesh.create(opts);
}
