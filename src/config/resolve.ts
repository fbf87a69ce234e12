// A validated config file → the options the daemon runs with: camelCase, every
// duration in ms, defaults filled in, per-peer overrides applied.
import { isAbsolute, resolve } from "node:path";
import type { SinkConfig } from "../alert/sink-config.js";
import {
  ACTION_DEFAULTS,
  CONCURRENCY_DEFAULT,
  MESH_DEFAULTS,
  NODE_DEFAULTS,
  PROBE_DEFAULTS,
  SINK_DEFAULTS,
} from "../core/defaults.js";
import { parseDuration, type Duration } from "../core/duration.js";
import type { ConfirmMode } from "../core/rules.js";
import type { SelfHealthOptions } from "../health/self-health.js";
import type { StormOptions } from "../core/storm.js";
import {
  type CommandSpec,
  type IsolateSpec,
  type PeerSpec,
  type Policy,
  type ProbeSpec,
  type RestartSpec,
  type TimingOptions,
} from "../core/options.js";
import type { CompiledPolicies } from "./cross-checks.js";
import { parseListen } from "./rules.js";
import { resolveFleet, type ResolvedFleet } from "./fleet-resolve.js";
import type { ConfigFile } from "./schema.js";
import { containerSpec, peersFrom, type ResolvedPeersFrom } from "./container-resolve.js";

/** Monitor-level options (MonitorOptions): the defaults' timing compiled, durations in ms. */
export interface ResolvedMonitor {
  selfName: string;
  /** `defaults:` compiled by compilePolicy (every duration in ms). */
  policy: Policy;
  /** Max probes in flight (count). */
  concurrency: number;
  /** Self-health thresholds (ms), or false; absent: the library's defaults. */
  selfHealth?: SelfHealthOptions | false;
  /** node.ledger_dir; absent: the library's default. */
  ledger?: { dir: string };
  /** Storm guard thresholds, or false; absent: the library's defaults. */
  storm?: StormOptions | false;
}

/** A peer (PeerSpec) with its effective timing compiled: defaults + its overrides, in ms. */
export type ResolvedPeer = Omit<PeerSpec, "policy" | keyof TimingOptions> & { policy: Policy };

export interface ResolvedConfig {
  node: {
    name: string;
    listen: { host: string; port: number };
    /** Absolute path. */
    dataDir: string;
    apiToken?: string;
    readToken?: string;
    /** node.identity: this node's Ed25519 private key (PEM); it also signs the journal. */
    identity?: string;
    /** Read routes open without a token although listen is not loopback (node.public_reads). */
    publicReads: boolean;
    /** Extra names accepted in the Host header (node.hostnames). */
    hostnames: string[];
    /** Most simultaneous API sockets. */
    maxConnections: number;
  };
  monitor: ResolvedMonitor;
  peers: ResolvedPeer[];
  mesh: {
    key?: string;
    /** node.identity: this node's Ed25519 private key (PEM). */
    identity?: string;
    members: Array<{ name: string; url: string; publicKey?: string }>;
    confirm: ConfirmMode;
    /** ms; absent: per peer, its restart timeout plus its interval. */
    takeoverAfter?: number;
    /** mesh.id: the mesh's identity (absent: derived, see MeshOptions.id). */
    id?: string;
  } | null;
  alerts: SinkConfig[];
  /** peers_from: where peers are discovered at run time (containers by label); null when not set. */
  peersFrom: ResolvedPeersFrom | null;
  /** Hosts and the etcd coordination of a fleet (fleet-resolve.ts). */
  fleet: ResolvedFleet;
  /**
   * Every secret value of the file: tokens, keys, signing secrets, routing keys, header
   * values, Slack URLs and whatever came from ${ENV} / ${file:}. The daemon hides them in
   * everything it logs, stores and serves; validate masks them.
   */
  secrets: readonly string[];
}

const ms = (d: Duration | undefined, fallback: number): number =>
  d === undefined ? fallback : parseDuration(d);
const msOpt = (d: Duration | undefined): number | undefined =>
  d === undefined ? undefined : parseDuration(d);

function selfHealth(sh: NonNullable<ConfigFile["self_health"]>): SelfHealthOptions | false {
  if (sh === false) return false;
  const ms = (d: Duration | undefined) => (d === undefined ? undefined : parseDuration(d));
  const out: SelfHealthOptions = {};
  const loop = ms(sh.loop_delay_p99);
  const late = ms(sh.lateness_p99);
  const window = ms(sh.window);
  if (loop !== undefined) out.loopDelayP99Ms = loop;
  if (late !== undefined) out.latenessP99Ms = late;
  if (window !== undefined) out.windowMs = window;
  if (sh.deadline_factor !== undefined) out.deadlineFactor = sh.deadline_factor;
  return out;
}

function storm(st: NonNullable<ConfigFile["storm"]>): StormOptions | false {
  if (st === false) return false;
  const out: StormOptions = {};
  if (st.fraction !== undefined) out.fraction = st.fraction;
  if (st.min_peers !== undefined) out.minPeers = st.min_peers;
  return out;
}

function command(c: { argv: string[]; timeout?: Duration | undefined }): CommandSpec {
  const t = msOpt(c.timeout);
  return t === undefined ? { argv: [...c.argv] } : { argv: [...c.argv], timeout: t };
}

type FilePeer = NonNullable<ConfigFile["peers"]>[number];

function probe(p: FilePeer["probe"]): ProbeSpec {
  if (p.http) {
    return {
      http: {
        url: p.http.url,
        expectStatus: p.http.expect_status ?? PROBE_DEFAULTS.expectStatus,
        headers: { ...(p.http.headers ?? {}) },
      },
    };
  }
  if (p.tcp) return { tcp: { host: p.tcp.host, port: p.tcp.port } };
  if (p.exec) return { exec: { argv: [...p.exec.argv] } };
  if (p.container) return { container: containerSpec(p.container) };
  throw new Error("unreachable: probe validated to have one kind");
}

function restart(r: FilePeer["restart"]): RestartSpec | "none" | undefined {
  if (r === undefined || r === "none") return r;
  if (r.systemd) {
    const t = msOpt(r.systemd.timeout);
    return { systemd: t === undefined ? { unit: r.systemd.unit } : { unit: r.systemd.unit, timeout: t } };
  }
  if (r.command) return { command: command(r.command) };
  if (r.container) return { container: containerSpec(r.container) };
  throw new Error("unreachable: restart validated to have one kind");
}

function isolate(r: FilePeer["isolate"]): IsolateSpec | "none" | undefined {
  if (r === undefined || r === "none") return r;
  if (r.systemd) {
    const t = msOpt(r.systemd.timeout);
    const s = { unit: r.systemd.unit, mode: r.systemd.mode ?? ACTION_DEFAULTS.isolateMode } as const;
    return { systemd: t === undefined ? s : { ...s, timeout: t } };
  }
  if (r.container) return { container: containerSpec(r.container) };
  if (r.command) {
    return r.release
      ? { command: command(r.command), release: command(r.release) }
      : { command: command(r.command) };
  }
  throw new Error("unreachable: isolate validated to have one kind");
}

type FileAlert = NonNullable<ConfigFile["alerts"]>[number];

function sink(a: FileAlert): SinkConfig {
  const common = {
    name: a.name,
    minSeverity: a.min_severity ?? SINK_DEFAULTS.minSeverity,
    timeoutMs: ms(a.timeout, SINK_DEFAULTS.timeoutMs),
    maxAgeMs: ms(a.max_age, SINK_DEFAULTS.maxAgeMs),
    headers: { ...(a.headers ?? {}) },
    ...(a.retry === undefined
      ? {}
      : {
          retry: {
            initialMs: ms(a.retry.initial, SINK_DEFAULTS.retryInitialMs),
            maxMs: ms(a.retry.max, SINK_DEFAULTS.retryMaxMs),
          },
        }),
  };
  if (a.webhook) {
    const w = a.webhook;
    return {
      ...common,
      kind: "webhook",
      url: w.url,
      format: w.format ?? SINK_DEFAULTS.webhookFormat,
      ...(w.secret === undefined ? {} : { secret: w.secret }),
      ...(w.routing_key === undefined ? {} : { routingKey: w.routing_key }),
    };
  }
  if (a.alertmanager) {
    return {
      ...common,
      kind: "alertmanager",
      url: a.alertmanager.url,
      resendIntervalMs: ms(a.alertmanager.resend_interval, SINK_DEFAULTS.resendIntervalMs),
    };
  }
  if (a.slack) return { ...common, kind: "slack", url: a.slack.url };
  if (a.pagerduty) {
    return {
      ...common,
      kind: "pagerduty",
      routingKey: a.pagerduty.routing_key,
      url: a.pagerduty.url ?? SINK_DEFAULTS.pagerdutyUrl,
    };
  }
  throw new Error("unreachable: alert validated to have one kind");
}

/**
 * Builds the resolved config of a file that passed the schema and the cross-field
 * checks, with the policies those checks compiled. `baseDir` anchors a relative
 * data_dir (the config file's directory).
 */
export function resolveConfig(
  file: ConfigFile,
  policies: CompiledPolicies,
  baseDir: string,
  secrets: Iterable<string> = [],
): ResolvedConfig {
  const listen = parseListen(file.node.listen ?? NODE_DEFAULTS.listen);
  if (!listen) throw new Error("unreachable: listen validated");
  const dataDir = file.node.data_dir ?? NODE_DEFAULTS.dataDir;
  const d = file.defaults ?? {};
  const base = policies.base;
  if (!base) throw new Error("unreachable: defaults validated");
  const peers = (file.peers ?? []).map((p, n): ResolvedPeer => {
    const policy = policies.peers[n];
    if (!policy) throw new Error("unreachable: peer timing validated");
    const spec: ResolvedPeer = { name: p.name, probe: probe(p.probe), policy };
    const r = restart(p.restart);
    if (r !== undefined) spec.restart = r;
    const i = isolate(p.isolate);
    if (i !== undefined) spec.isolate = i;
    if (p.depends_on !== undefined && p.depends_on.length > 0) spec.dependsOn = [...p.depends_on];
    return spec;
  });
  return {
    node: {
      name: file.node.name,
      listen,
      dataDir: isAbsolute(dataDir) ? dataDir : resolve(baseDir, dataDir),
      ...(file.node.api_token === undefined ? {} : { apiToken: file.node.api_token }),
      ...(file.node.read_token === undefined ? {} : { readToken: file.node.read_token }),
      ...(file.node.identity === undefined ? {} : { identity: file.node.identity }),
      publicReads: file.node.public_reads ?? NODE_DEFAULTS.publicReads,
      hostnames: [...(file.node.hostnames ?? [])],
      maxConnections: file.node.max_connections ?? NODE_DEFAULTS.maxConnections,
    },
    monitor: {
      selfName: file.node.name,
      policy: base,
      concurrency: d.concurrency ?? CONCURRENCY_DEFAULT,
      ...(file.self_health === undefined ? {} : { selfHealth: selfHealth(file.self_health) }),
      ...(file.node.ledger_dir === undefined ? {} : { ledger: { dir: file.node.ledger_dir } }),
      ...(file.storm === undefined ? {} : { storm: storm(file.storm) }),
    },
    peers,
    mesh: file.mesh
      ? {
          ...(file.mesh.key === undefined ? {} : { key: file.mesh.key }),
          ...(file.node.identity === undefined ? {} : { identity: file.node.identity }),
          members: (file.mesh.members ?? []).map((m) => ({
            name: m.name,
            url: m.url,
            ...(m.public_key === undefined ? {} : { publicKey: m.public_key }),
          })),
          confirm: file.mesh.confirm ?? MESH_DEFAULTS.confirm,
          ...(file.mesh.id === undefined ? {} : { id: file.mesh.id }),
          ...(file.mesh.takeover_after === undefined
            ? {}
            : { takeoverAfter: parseDuration(file.mesh.takeover_after) }),
        }
      : null,
    alerts: (file.alerts ?? []).map(sink),
    peersFrom: peersFrom(file.peers_from),
    fleet: resolveFleet(file),
    secrets: [...new Set(secrets)].filter((s) => s.length > 0),
  };
}
