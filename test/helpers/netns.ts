// Hosts for tests: each host is a network namespace with its own address on a bridge.
// The bridge lives in a namespace of its own (the lab's "switch"), so nothing is added
// to the machine's own network: no interface, no address, no route; the lab's subnet
// (10.231.X.0/24) exists only inside the lab's namespaces, and two labs never see each
// other (each has its own switch), so parallel tests cannot collide even on addresses.
// Names carry this process's pid and a counter; destroy() removes everything, an exit
// hook does it if the test dies first, and createLab() first removes labs left behind
// by processes that no longer exist.
//
// Links are cut with iptables inside the hosts' namespaces (DROP, so a cut looks like a
// partition: connections time out, nothing is refused).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { runProcess, type ProcessOutcome } from "../../src/act/run-process.js";

const PREFIX = "wdmlab";
let counter = 0;

/** Why labs cannot run here, or null when they can (root, ip, iptables, curl). */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "needs Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root (ip netns)";
  for (const p of ["/usr/sbin/ip", "/usr/sbin/iptables", "/usr/bin/curl"]) {
    if (!existsSync(p)) return `${p} is missing (apt-get install iproute2 iptables curl)`;
  }
  return null;
}

/** Skip reason for node:test, or undefined to run; in CI a missing prerequisite throws. */
export function skipUnlessNetns(): string | undefined {
  const why = netnsUnavailable();
  if (why === null) return undefined;
  if (process.env.CI) throw new Error(`network-namespace tests must run in CI, but: ${why}`);
  return `network namespaces not available: ${why}`;
}

export interface Host {
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its address on the lab's bridge. */
  readonly ip: string;
  /** Spawns a process inside the host's namespace (killed by destroy()). */
  spawn(argv: string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Runs a command inside the namespace and waits (bounded). */
  run(argv: string[], timeoutMs?: number): Promise<ProcessOutcome>;
  /** GET `url` from inside this host (curl, bounded); parsed JSON or undefined on any failure. */
  getJson(url: string, timeoutMs?: number): Promise<unknown>;
}

export interface Lab {
  readonly id: string;
  readonly hosts: ReadonlyMap<string, Host>;
  host(name: string): Host;
  /** Drops all traffic between hosts a and b (both directions, in both namespaces). */
  cut(a: string, b: string): Promise<void>;
  /** Undoes cut(a, b). */
  heal(a: string, b: string): Promise<void>;
  /** Drops what `from` sends to `to`, one way: `to` still reaches `from` (a TCP exchange
   * either way then fails, as behind a one-way firewall rule). */
  cutOneWay(from: string, to: string): Promise<void>;
  /** Undoes cutOneWay(from, to). */
  healOneWay(from: string, to: string): Promise<void>;
  /** Removes every process, namespace and link of the lab. Idempotent. */
  destroy(): Promise<void>;
}

function ipSync(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** The names of the network namespaces (`ip netns list`); none when it cannot be read. */
function namespaces(): string[] {
  try {
    return execFileSync("ip", ["netns", "list"], {
      encoding: "utf8",
      timeout: 10_000,
      // It prints "Peer netns reference is invalid" for namespaces without an id: noise.
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter(Boolean);
  } catch {
    return [];
  }
}

function removeNamespacesOf(pid: string, prefix = PREFIX): void {
  for (const ns of namespaces()) {
    if (ns.startsWith(`${prefix}${pid}x`)) {
      try {
        ipSync(["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
  }
}

/** Removes the namespaces named PREFIX<pid>x… of processes that died without removing them. */
export function sweepStale(prefix = PREFIX): void {
  const pids = new Set<string>();
  for (const ns of namespaces()) {
    const m = new RegExp(`^${prefix}(\\d+)x`).exec(ns);
    if (m?.[1] && !existsSync(`/proc/${m[1]}`)) pids.add(m[1]);
  }
  for (const pid of pids) removeNamespacesOf(pid, prefix);
}

/**
 * Creates hosts `names` on a fresh bridge; addresses 10.231.X.11, .12, ... in order.
 * `subnet` (0-255) picks X; labs are isolated from each other, so any value is safe.
 */
export async function createLab(names: readonly string[], opts: { subnet?: number } = {}): Promise<Lab> {
  sweepStale();
  const n = counter++;
  const id = `${PREFIX}${process.pid}x${n}`;
  const x = opts.subnet ?? 7;
  const sw = `${id}-sw`;
  const children = new Set<ChildProcess>();
  const hosts = new Map<string, Host>();
  let destroyed = false;
  const onExit = (): void => removeNamespacesOf(`${process.pid}`);
  process.once("exit", onExit);

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) r();
            else {
              c.once("exit", () => r());
              setTimeout(r, 5_000).unref();
            }
          }),
      ),
    );
    for (const h of hosts.values()) {
      try {
        ipSync(["netns", "del", h.ns]);
      } catch {
        // already gone
      }
    }
    try {
      ipSync(["netns", "del", sw]);
    } catch {
      // already gone
    }
    process.removeListener("exit", onExit);
  };

  try {
    ipSync(["netns", "add", sw]);
    ipSync(["-n", sw, "link", "add", "br0", "type", "bridge"]);
    ipSync(["-n", sw, "link", "set", "br0", "up"]);
    names.forEach((name, i) => {
      const ns = `${id}-${i}`;
      const ip = `10.231.${x}.${11 + i}`;
      ipSync(["netns", "add", ns]);
      // Both ends are created directly in their namespaces: nothing appears on the host.
      ipSync(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", `p${i}`, "netns", sw]);
      ipSync(["-n", sw, "link", "set", `p${i}`, "master", "br0", "up"]);
      ipSync(["-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      ipSync(["-n", ns, "link", "set", "eth0", "up"]);
      ipSync(["-n", ns, "link", "set", "lo", "up"]);
      const host: Host = {
        name,
        ns,
        ip,
        spawn(argv, o = {}) {
          const c = spawn("ip", ["netns", "exec", ns, ...argv], {
            stdio: ["ignore", "pipe", "pipe"],
            env: o.env ?? process.env,
          });
          children.add(c);
          return c;
        },
        run: (argv, timeoutMs = 10_000) => runProcess(["ip", "netns", "exec", ns, ...argv], { timeoutMs }),
        async getJson(url, timeoutMs = 2_000) {
          const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
          const r = await host.run(["curl", "-sf", "-m", secs, url], timeoutMs + 3_000);
          if (r.code !== 0) return undefined;
          try {
            return JSON.parse(r.stdout) as unknown;
          } catch {
            return undefined;
          }
        },
      };
      hosts.set(name, host);
    });
  } catch (err) {
    await destroy();
    throw err;
  }

  const host = (name: string): Host => {
    const h = hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  };
  const iptables = async (h: Host, op: "-A" | "-D", rule: string[]): Promise<void> => {
    const r = await h.run(["iptables", "-w", "5", op, ...rule]);
    if (r.code !== 0 && op === "-A")
      throw new Error(`iptables ${op} ${rule.join(" ")} in ${h.name}: ${r.stderr}`);
  };
  const cutState = new Set<string>();
  const key = (a: string, b: string): string => [a, b].sort().join("|");
  /** The rules that drop what `a` sends to `b`: on the way out of a, on the way into b. */
  const oneWay = (a: Host, b: Host): Array<[Host, string[]]> => [
    [a, ["OUTPUT", "-d", b.ip, "-j", "DROP"]],
    [b, ["INPUT", "-s", a.ip, "-j", "DROP"]],
  ];
  const apply = async (op: "-A" | "-D", rules: Array<[Host, string[]]>): Promise<void> => {
    for (const [h, rule] of rules) await iptables(h, op, rule);
  };
  return {
    id,
    hosts,
    host,
    async cut(a, b) {
      if (cutState.has(key(a, b))) return;
      cutState.add(key(a, b));
      await apply("-A", [...oneWay(host(a), host(b)), ...oneWay(host(b), host(a))]);
    },
    async heal(a, b) {
      if (!cutState.delete(key(a, b))) return;
      await apply("-D", [...oneWay(host(a), host(b)), ...oneWay(host(b), host(a))]);
    },
    async cutOneWay(from, to) {
      if (cutState.has(`${from}>${to}`)) return;
      cutState.add(`${from}>${to}`);
      await apply("-A", oneWay(host(from), host(to)));
    },
    async healOneWay(from, to) {
      if (!cutState.delete(`${from}>${to}`)) return;
      await apply("-D", oneWay(host(from), host(to)));
    },
    destroy,
  };
}
