// Composition root of `wdmesh run`: Monitor + SQLite store + executor + alert workers
// + HTTP API + metrics, started in that order and stopped in reverse.
import { pino } from "pino";
import type { Executor } from "./act/executor.js";
import { createAlerting, type Alerting } from "./alert/dispatcher.js";
import type { ApiBackend } from "./api/backend.js";
import { createMetrics, type Metrics } from "./api/metrics.js";
import { ProbeHistory, type PeerBeat } from "./api/probe-history.js";
import { createApiServer, type ApiServer } from "./api/server.js";
import type { ReloadOutcome } from "./api/backend.js";
import { ConfigError, formatIssue } from "./config/config-error.js";
import type { ResolvedConfig } from "./config/resolve.js";
import { FLEET_DEFAULTS, NODE_DEFAULTS } from "./core/defaults.js";
import type { FleetRuntime } from "./fleet/fleet-runtime.js";
import { withHostRule } from "./fleet/host-rule.js";
import { applyConfig, commitReloadFailure, reloadProblems, type ReloadTarget } from "./reload.js";
import { WatchdogError } from "./core/errors.js";
import { TEST_CLOCK_OFFSET_ENV, testClockOffset } from "./schedule/test-clock-offset.js";
import type { Logger } from "./core/logger.js";
import { redactingLogger } from "./core/redacting-logger.js";
import { Redactor } from "./core/redact.js";
import { Monitor, type RemediationGate } from "./monitor.js";
import { initialState } from "./core/ladder.js";
import { toPeerHealth } from "./core/peer-health.js";
import { SqliteStore } from "./store/sqlite-store.js";
import { loadIdentity } from "./core/identity.js";
import type { JournalEntry } from "./store/types.js";
import { startSystemdNotify, type SystemdNotifier } from "./act/sd-notify.js";
import { startDiscovery, type Discovery } from "./discovery/start.js";

export interface DaemonOptions {
  /** Default: pino JSON lines on stdout. */
  logger?: Logger;
  /** Default: systemd/command executor. */
  executor?: Executor;
  /**
   * Reads the config file again (reload: SIGHUP, POST /v1/reload). Throws ConfigError
   * with every problem of an invalid file. Without it the node cannot reload.
   */
  loadConfig?: () => Promise<ResolvedConfig>;
  /** Compressed alert retry delays, for tests. */
  alertBackoff?: { initialMs?: number; maxMs?: number };
}

export interface DaemonHandle {
  /** Base URL of the API, e.g. http://127.0.0.1:9760. */
  readonly url: string;
  readonly monitor: Monitor;
  readonly store: SqliteStore;
  /** Stops everything (idempotent); resolves when state is flushed and sockets closed. */
  stop(): Promise<void>;
  /**
   * Re-reads the config and applies it (peers, sinks, thresholds) keeping the state of
   * everything that stays; an invalid file changes nothing and its problems are returned
   * (and logged). Reloads run one at a time.
   */
  reload(): Promise<ReloadOutcome>;
  /** Resolves once stop() has finished. */
  readonly done: Promise<void>;
}

/**
 * /v1/mesh of a node in a fleet says so (`fleet: true`), so the dashboard asks /v1/fleet
 * only then. The mesh document's text is cached by the mesh: the flag is added once per text.
 */
function inFleet(monitor: Monitor): Pick<ApiBackend, "mesh" | "meshJson"> {
  let last = { from: "", text: "" };
  return {
    mesh: () => ({ ...monitor.mesh.meshDocument(), fleet: true }),
    meshJson: () => {
      const from = monitor.mesh.meshJson();
      if (from !== last.from) last = { from, text: `${from.slice(0, -1)},"fleet":true}` };
      return last.text;
    },
  };
}

function backendFor(
  current: () => ResolvedConfig,
  monitor: Monitor,
  store: SqliteStore,
  alerting: Alerting,
  metrics: Metrics,
): ApiBackend {
  return {
    node: current().node.name,
    meshJson: () => monitor.mesh.meshJson(),
    mesh: () => monitor.mesh.meshDocument(),
    peer: (name) => monitor.getPeerStatus(name),
    events: (after, limit) => store.journal(after, limit),
    onEvent: (l) => store.onJournal(l),
    release: (name, by) => monitor.release(name, by),
    restart: (name, by) => monitor.restart(name, by),
    check: (name) => monitor.checkPeer(name),
    silence: (name, ms) => monitor.silence(name, ms),
    deliveries: (filter) => store.list(filter),
    async alertsTest(sink) {
      if (!current().alerts.some((s) => s.name === sink)) return undefined;
      const t0 = Date.now();
      const r = await alerting.sendTest(sink);
      return { sink, ...r, duration_ms: Date.now() - t0 };
    },
    healthProof: (nonce, from) => monitor.mesh.healthProof(nonce, from),
    healthSignature: (nonce, from) => monitor.mesh.healthSignature(nonce, from),
    viewRequestProblem: (headers, nonce) => monitor.mesh.viewRequestProblem(headers, nonce),
    clockNow: () => monitor.mesh.clockNow(),
    meshView: (nonce, requester) => monitor.mesh.meshView(nonce, requester),
    streamView: (res, nonce, requester, everyMs) => monitor.mesh.streamView(res, nonce, requester, everyMs),
    healthProblem: () => monitor.healthProblem(),
    metricsText: () => metrics.text(),
    metricsContentType: metrics.contentType,
  };
}

/**
 * The backend with every secret hidden in what it answers (receivers' and probes' texts
 * included). Every method is wrapped, so a route added later is covered too: strings are
 * redacted as text, anything else value by value, promises once they resolve; onEvent
 * and onProbe hand their listeners redacted entries and probe results.
 */
const SIGNED_FOR_MEMBERS = new Set(["healthProof", "healthSignature", "meshView", "streamView"]);

function redactingBackend(b: ApiBackend, r: Redactor): ApiBackend {
  const hide = (x: unknown): unknown => (typeof x === "string" ? r.text(x) : r.value(x));
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(b)) {
    if (typeof member !== "function" || SIGNED_FOR_MEMBERS.has(name)) {
      // Signed answers to other nodes carry no stored text, and must stay byte for byte.
      out[name] = member;
    } else if (name === "onEvent") {
      out[name] = (l: (e: JournalEntry) => void) => b.onEvent((e) => l(r.value(e)));
    } else if (name === "onProbe") {
      out[name] = (l: (p: PeerBeat) => void) => b.onProbe?.((p) => l(r.value(p))) ?? (() => undefined);
    } else {
      out[name] = (...args: unknown[]): unknown => {
        const res: unknown = (member as (...a: unknown[]) => unknown).apply(b, args);
        return res instanceof Promise ? res.then(hide) : hide(res);
      };
    }
  }
  return out as unknown as ApiBackend;
}

function wireMetrics(monitor: Monitor, store: SqliteStore, metrics: Metrics, history: ProbeHistory): void {
  for (const peer of monitor.peerNames()) metrics.addPeer(peer);
  let known = new Set(monitor.peerNames());
  let storeErrorsSeen = 0;
  monitor.onProbe((peer, result, lateness) => {
    history.record(peer, result, Date.now());
    metrics.probeDuration.observe({ peer }, result.duration_ms / 1000);
    metrics.probeLateness.observe(Math.max(0, lateness) / 1000);
    metrics.checks.inc({ peer });
    if (result.inconclusive === true) metrics.inconclusive.inc({ peer });
    else if (!result.ok) metrics.misses.inc({ peer });
  });
  monitor.onEscalation((a) => {
    if (a.action === "restart") metrics.restarts.inc({ peer: a.peer_name });
    if (a.action === "isolate") metrics.isolations.inc({ peer: a.peer_name });
    if (a.action === "remediation_held") metrics.remediationHeld.inc({ peer: a.peer_name });
    if (a.result && !a.result.ok) metrics.actionFailures.inc({ action: a.action });
  });
  metrics.beforeScrape(() => {
    // Peers registered since the last scrape get their series at 0; removed ones lose theirs.
    const names = new Set(monitor.peerNames());
    for (const name of known) {
      if (names.has(name)) continue;
      metrics.removePeer(name);
      history.remove(name);
    }
    for (const name of names) metrics.addPeer(name);
    known = names;
    for (const p of monitor.allPeers()) metrics.setPeerStatus(p.name, p.status);
    for (const m of monitor.mesh.meshDocument().members) {
      metrics.meshMemberUp.set({ member: m.name }, m.status === "HEALTHY" ? 1 : 0);
      const offset = m.clock_offset_ms ?? null;
      if (offset === null) metrics.meshMemberClockOffset.remove({ member: m.name });
      else metrics.meshMemberClockOffset.set({ member: m.name }, offset / 1000);
    }
    const sched = monitor.schedulerStats();
    metrics.probesQueued.set(sched.queued);
    metrics.probesInFlight.set(sched.in_flight);
    const self = monitor.selfHealthReport();
    metrics.selfDegraded.set(self.status === "degraded" ? 1 : 0);
    const st = monitor.storeReport();
    metrics.storeFailing.set(st.status === "failing" ? 1 : 0);
    metrics.storeErrors.inc(st.errors_total - storeErrorsSeen);
    storeErrorsSeen = st.errors_total;
    metrics.loopDelayP99.set(self.loop_delay_p99_ms / 1000);
    metrics.latenessP99.set(self.lateness_p99_ms / 1000);
    for (const [sink, d] of Object.entries(store.depth())) {
      metrics.outboxDepth.set({ sink, state: "pending" }, d.pending);
      metrics.outboxDepth.set({ sink, state: "dead" }, d.dead);
    }
  });
}

/** `wdmesh release PEER`, with --url when the node is not at the CLI's default and the token hint. */
function releaseCommandFor(config: ResolvedConfig): (peer: string) => string {
  const { host, port } = config.node.listen;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // The CLI's default --url is the default listen address: only a node elsewhere needs it.
  const where = `${host}:${port}` === NODE_DEFAULTS.listen ? "" : ` --url ${url}`;
  const token = config.node.apiToken === undefined ? "" : " (token: WDMESH_API_TOKEN or --token)";
  return (peer) => `wdmesh release ${peer}${where}${token}`;
}

/**
 * JSON lines on stdout. If stdout goes away (EPIPE: the reader died), logging stops but
 * the node keeps watching; its escalations are in the journal either way.
 */
function stdoutLogger(node: string): Logger {
  const dest = pino.destination({ fd: 1, sync: true });
  dest.on("error", () => {});
  return pino({ base: { node } }, dest);
}

/** The fleet runtime (and through it etcd), imported only when coordination.etcd is configured. */
async function loadFleetRuntime(
  config: ResolvedConfig,
  store: SqliteStore,
  logger: Logger,
): Promise<FleetRuntime> {
  const etcd = config.fleet.etcd;
  if (!etcd) throw new Error("unreachable: loadFleetRuntime without coordination.etcd");
  const { createFleetRuntime } = await import("./fleet/fleet-runtime.js");
  return createFleetRuntime(
    {
      node: config.node.name,
      host: config.fleet.host,
      peerHosts: config.fleet.peerHosts,
      etcd,
      hosts: config.fleet.hosts,
      publishIntervalMs: FLEET_DEFAULTS.publishIntervalMs,
    },
    { store, logger },
  );
}

/** Without etcd: a peer on another host is only watched here (the mesh's gate, or none, decides the rest). */
function hostRule(
  config: ResolvedConfig,
): ((gate: RemediationGate | undefined) => RemediationGate) | undefined {
  const { host, peerHosts } = config.fleet;
  if (!Object.values(peerHosts).some((h) => h !== host)) return undefined;
  return (gate) =>
    withHostRule(gate, {
      self: config.node.name,
      selfHost: host,
      peerHost: (peer) => peerHosts[peer],
    });
}

/** Starts a node from a resolved config. Throws (nothing left running) if any part cannot start. */
export async function runDaemon(initial: ResolvedConfig, opts: DaemonOptions = {}): Promise<DaemonHandle> {
  /** The config in force: reloads replace its peers and sinks. */
  let config = initial;
  // Every configured secret is hidden at the node's boundaries: what it logs, stores
  // (journal, outbox, effect results) and serves (API answers, event stream).
  const redactor = new Redactor(config.secrets);
  const logger: Logger = redactingLogger(opts.logger ?? stdoutLogger(config.node.name), redactor);
  const store = SqliteStore.open({
    dataDir: config.node.dataDir,
    node: config.node.name,
    sinks: config.alerts.map((s) => ({ name: s.name, minSeverity: s.minSeverity })),
    logger,
    redactor,
    ...(config.node.identity === undefined
      ? {}
      : { identity: loadIdentity(config.node.identity, "node.identity") }),
  });
  let monitor: Monitor | undefined;
  let alerting: Alerting | undefined;
  let api: ApiServer | undefined;
  let notifier: SystemdNotifier | undefined;
  let discovery: Discovery | undefined;
  let fleet: FleetRuntime | undefined;
  try {
    // The mesh (members watched as peers, view poller, gate) is the library's own:
    // the daemon composes the same Monitor an embedding agent does.
    // A fleet on etcd (coordination.etcd) is loaded only when configured: without it
    // nothing of etcd (nor its gRPC client) is imported.
    fleet = config.fleet.etcd ? await loadFleetRuntime(config, store, logger) : undefined;
    const wrapGate = fleet ? undefined : hostRule(config);
    const testClock = testClockOffset(process.env);
    if (testClock)
      logger.warn(
        { offset_ms: testClock.offsetMs },
        `${TEST_CLOCK_OFFSET_ENV} shifts this node's wall clock: for tests only`,
      );
    monitor = new Monitor({
      ...config.monitor,
      releaseCommand: releaseCommandFor(config),
      executor: opts.executor,
      store,
      logger,
      ...(config.mesh ? { mesh: config.mesh } : {}),
      // The fleet claims each step in etcd, and the host's ledger (on even with an executor
      // of the caller's) refuses a claim older than one it accepted.
      ...(fleet ? { gate: fleet.gate, stepClaimer: fleet.claimer, ledger: config.monitor.ledger ?? {} } : {}),
      ...(wrapGate ? { wrapGate } : {}),
      ...(testClock ? { clock: testClock.clock } : {}),
    });
    for (const peer of config.peers) monitor.registerPeer(peer);
    const metrics = createMetrics();
    const history = new ProbeHistory();
    wireMetrics(monitor, store, metrics, history);
    for (const s of config.alerts) metrics.addSink(s.name);
    const sinksNow = (): Alerting | undefined => alerting;
    // The outbox is in the store: its own failure goes straight to the sinks (once per episode).
    monitor.onStoreFailure((a) => {
      const snapshot = { ...toPeerHealth(a.node, "self", initialState(), a.node), last_error: a.reason };
      void sinksNow()?.sendDirect(a, snapshot);
    });
    alerting = createAlerting({
      sinks: config.alerts,
      outbox: store,
      logger,
      node: config.node.name,
      // An alert about a peer carries the peer's host, the same from every node watching it.
      hosts: { self: () => config.fleet.host, peer: (name) => config.fleet.peerHosts[name] },
      redact: (text) => redactor.text(text),
      onAttempt: (sink, outcome) => metrics.deliveries.inc({ sink, outcome }),
      ...(opts.alertBackoff ? { backoff: opts.alertBackoff } : {}),
    });
    api = createApiServer({
      backend: redactingBackend(
        {
          ...backendFor(() => config, monitor, store, alerting, metrics),
          history: (name) => (monitor?.getPeerStatus(name) ? history.get(name) : undefined),
          onProbe: (l) => history.onRecord(l),
          ...(opts.loadConfig ? { reload: () => reload() } : {}),
          ...(fleet ? { fleet: fleet.status, sd: fleet.sd, ...inFleet(monitor) } : {}),
        },
        redactor,
      ),
      apiToken: config.node.apiToken,
      readToken: config.node.readToken,
      hostnames: config.node.hostnames,
      maxConnections: config.node.maxConnections,
      publicReads: config.node.publicReads,
      logger,
    });
    const apiServer = api;
    let refusedSeen = 0;
    let droppedSeen = 0;
    metrics.beforeScrape(() => {
      metrics.apiConnections.set(apiServer.connections());
      metrics.apiConnectionsRefused.inc(apiServer.refusedConnections - refusedSeen);
      refusedSeen = apiServer.refusedConnections;
      const sse = apiServer.sseStats();
      metrics.sseClients.set(sse.clients);
      metrics.sseDropped.inc(sse.dropped - droppedSeen);
      metrics.sseBufferedBytes.set(sse.bufferedBytes);
      droppedSeen = sse.dropped;
    });
    const { host, port } = config.node.listen;
    const bound = await api.listen(config.node.listen).catch((err: NodeJS.ErrnoException) => {
      const why =
        err.code === "EADDRINUSE"
          ? "the address is already in use"
          : err.code === "EACCES"
            ? "permission denied"
            : err.message;
      throw new WatchdogError(
        "WDM_LISTEN",
        `cannot listen on ${host}:${port} (node.listen): ${why}; stop what holds it or choose another node.listen`,
        "node.listen",
      );
    });
    alerting.start();
    monitor.start();
    discovery = await startDiscovery(config, monitor, logger);
    const watched = monitor;
    await fleet?.start(bound.url, () => watched.allPeers(), metrics.registry);
    notifier = startSystemdNotify({ logger, alive: () => monitor?.isProgressing() ?? false });
    logger.info(
      { url: bound.url, peers: config.peers.length, sinks: config.alerts.length },
      "wdmesh node running",
    );

    const target: ReloadTarget = { monitor, store, alerting, metrics, logger, discovery };
    metrics.configReloadSuccessful.set(1);
    metrics.configReloadSuccessTime.set(Date.now() / 1000);
    const m0 = monitor;
    /** A refused reload: logged, journaled (config_reload_failed, HIGH, so alerted) and in the metrics. */
    const refused = (problems: Array<{ path: string; message: string }>): ReloadOutcome => {
      logger.error({ problems: problems.map((p) => p.message) }, "config reload refused: nothing changed");
      metrics.configReloadSuccessful.set(0);
      try {
        commitReloadFailure(store, config.node.name, problems);
      } catch (err) {
        logger.error({ err: String(err) }, "config_reload_failed could not be journaled");
      }
      return { ok: false, problems };
    };
    const reloadOnce = async (): Promise<ReloadOutcome> => {
      if (!opts.loadConfig) {
        return refused([{ path: "", message: "this node was started without a config file" }]);
      }
      let next: ResolvedConfig;
      try {
        next = await opts.loadConfig();
      } catch (e) {
        return refused(
          e instanceof ConfigError
            ? e.issues.map((i) => ({ path: i.path, message: formatIssue(i, e.source) }))
            : [{ path: "", message: e instanceof Error ? e.message : String(e) }],
        );
      }
      const problems = reloadProblems(m0, config, next);
      if (problems.length > 0) return refused(problems);
      // New secrets (a new sink's key, a rotated token) are hidden from now on; the old
      // ones stay hidden too, since what was stored before may still hold them.
      redactor.add(next.secrets);
      const out = await applyConfig(target, config, next);
      config = out.config;
      metrics.configReloadSuccessful.set(1);
      metrics.configReloadSuccessTime.set(Date.now() / 1000);
      return { ok: true, summary: { ...out.summary } };
    };
    // One reload runs at a time; the calls that arrive meanwhile share one more (a burst of
    // SIGHUPs reads the file twice at most, not once per signal).
    let reloading: Promise<unknown> = Promise.resolve();
    let queued: Promise<ReloadOutcome> | null = null;
    const reload = (): Promise<ReloadOutcome> => {
      if (queued) return queued;
      const run = reloading.then(() => {
        queued = null;
        return reloadOnce();
      });
      queued = run;
      reloading = run.catch(() => undefined);
      return run;
    };

    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    let stopping: Promise<void> | null = null;
    const m = monitor;
    const a = alerting;
    const s = api;
    const n = notifier;
    const disc = discovery;
    const f = fleet;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        n.stopping();
        logger.info({}, "wdmesh node stopping");
        // Open view streams would hold the API's connections until its close grace ran out.
        m.mesh.closeViewStreams();
        await s.close();
        await disc.stop();
        await f?.stop();
        await m.stop();
        await a.stop();
        store.close();
        n.close();
        logger.info({}, "wdmesh node stopped");
        resolveDone();
      })();
      return stopping;
    };
    return { url: bound.url, monitor, store, stop, reload, done };
  } catch (err) {
    await api?.close().catch(() => {});
    await discovery?.stop().catch(() => {});
    await fleet?.stop().catch(() => {});
    await monitor?.stop().catch(() => {});
    await alerting?.stop().catch(() => {});
    notifier?.close();
    store.close();
    throw err;
  }
}
