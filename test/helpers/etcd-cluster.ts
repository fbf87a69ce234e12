// A real 3-member etcd cluster on loopback for the fleet's integration tests: each member
// its own temporary data dir and free loopback ports, killed (and its dir removed) when
// the test file ends. A member can be killed and started again on the same ports and data
// (its identity in the cluster is kept), and the whole cluster stopped and restarted.
// Given lab hosts (test/helpers/netns.ts), each member runs in its own host's network
// namespace on that host's address instead, so the network between members can be cut.
// Never touches a system etcd: nothing here reads /var/lib/etcd or the default ports.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { Host } from "./netns.js";
import { fileTempDir } from "./tmp-dir.js";
import { freePort } from "./ports.js";
import { until } from "./wait.js";

const ETCD = "/usr/bin/etcd";
const ETCDCTL = "/usr/bin/etcdctl";

/** Skip reason for node:test, or undefined to run. In CI a missing etcd fails instead. */
export function etcdSkipReason(): string | undefined {
  const r = spawnSync(ETCD, ["--version"], { encoding: "utf8" });
  if (r.status === 0) return undefined;
  const why = `${ETCD} is not installed (Debian package etcd-server)`;
  if (process.env.CI) throw new Error(`etcd integration tests must run in CI, but: ${why}`);
  return why;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | null;
  /** The command it runs under: entering its host's network namespace, or nothing. */
  wrap: string[];
}

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly initialCluster: string,
  ) {}

  /**
   * Starts `size` members (default 3; one per host when `hosts` are given) and waits until
   * the cluster answers.
   */
  static async start(size = 3, opts: { hosts?: readonly Host[] } = {}): Promise<EtcdCluster> {
    const base = fileTempDir("wdmesh-etcd-");
    const members: EtcdMember[] = [];
    const hosts = opts.hosts;
    for (let i = 0; i < (hosts?.length ?? size); i++) {
      const h = hosts?.[i];
      const [ip, cp, pp] = h ? [h.ip, 2379, 2380] : ["127.0.0.1", await freePort(), await freePort()];
      members.push({
        name: `m${i}`,
        clientUrl: `http://${ip}:${cp}`,
        peerUrl: `http://${ip}:${pp}`,
        dataDir: join(base, `m${i}`),
        proc: null,
        wrap: h ? ["ip", "netns", "exec", h.ns] : [],
      });
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    const c = new EtcdCluster(members, initialCluster);
    process.once("exit", () => c.killAll());
    for (const m of members) c.spawnMember(m);
    await c.waitHealthy();
    return c;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** etcdctl `args` against the running members, from where they can be reached. */
  private ctl(args: string[]): ReturnType<typeof spawnSync> & { stdout: string } {
    const up = this.members.filter((m) => m.proc !== null);
    const argv = [
      ...(up[0]?.wrap ?? []),
      ETCDCTL,
      `--endpoints=${up.map((m) => m.clientUrl).join(",")}`,
      ...args,
    ];
    return spawnSync(argv[0] as string, argv.slice(1), {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
      timeout: 5_000,
    });
  }

  private spawnMember(m: EtcdMember): void {
    const argv = [
      ...m.wrap,
      ETCD,
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${this.initialCluster}`,
      "--initial-cluster-state=new",
      "--initial-cluster-token=wdmesh-test",
      // Short election timing so a killed leader is replaced within a second or two.
      "--heartbeat-interval=100",
      "--election-timeout=1000",
      "--log-level=error",
    ];
    const proc = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.resume();
    m.proc = proc;
  }

  /** Waits until every running member reports healthy (etcdctl endpoint health). */
  async waitHealthy(ms = 30_000): Promise<void> {
    await until("etcd members healthy", () => this.ctl(["endpoint", "health"]).status === 0, ms, {
      everyMs: 200,
    });
  }

  /** The name of the current leader (asks each running member). */
  leader(): EtcdMember | undefined {
    const r = this.ctl(["endpoint", "status", "-w", "json"]);
    if (r.status !== 0) return undefined;
    const rows = JSON.parse(r.stdout) as {
      Endpoint: string;
      Status: { header: { member_id: number }; leader: number };
    }[];
    const lead = rows.find((x) => String(x.Status.header.member_id) === String(x.Status.leader));
    return lead ? this.members.find((m) => m.clientUrl === lead.Endpoint) : undefined;
  }

  /** Kills one member (SIGKILL) and waits for it to exit. */
  async kill(m: EtcdMember): Promise<void> {
    const p = m.proc;
    if (!p) return;
    m.proc = null;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await gone;
  }

  /** Starts a killed member again (same name, ports and data). */
  restart(m: EtcdMember): void {
    if (m.proc) return;
    this.spawnMember(m);
  }

  async stopAll(): Promise<void> {
    for (const m of this.members) await this.kill(m);
  }

  async startAll(): Promise<void> {
    for (const m of this.members) this.restart(m);
    await this.waitHealthy();
  }

  private killAll(): void {
    for (const m of this.members) m.proc?.kill("SIGKILL");
  }
}
