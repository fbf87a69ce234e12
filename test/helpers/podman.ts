// A real container engine for tests: Podman serving the Docker Engine API
// (`podman system service`) on a unix socket in a temporary directory.
//
// What it takes on these machines (hybrid cgroups, restricted rlimits, no registry):
//   - its own network namespace with no default route (`ip netns add`): Podman removes a
//     network's bridge with its last container, and an address that vanished must never
//     send traffic off the machine (checked: the fixture fails if the namespace has a
//     default route, at start and after each network and container). Daemons under
//     test run in the same namespace (spawnDaemon), and so does every connection to a
//     container's address (runInside, getJson, post; the product's canary inside the
//     daemon); the test process itself never connects to one. The socket is a file, so
//     the test process talks to the engine from anywhere.
//   - its own mount namespace with cgroup2 mounted on /sys/fs/cgroup (crun needs a
//     cgroup v2 hierarchy; the host's is hybrid);
//   - a containers.conf of its own (CONTAINERS_CONF) with `default_ulimits = []`, and
//     storage under the temporary directory (--root, --runroot, --tmpdir): nothing
//     global is touched;
//   - containers created `--privileged --pids-limit 0` from a root filesystem made of the
//     host's own /usr (read-only bind), since no image can be pulled.
// Those flags are the fixture's only: the product asks the engine for nothing of the kind.
//
// Podman runs HEALTHCHECKs from systemd timers; with no systemd here, the fixture plays
// the timer (healthTimer: `podman healthcheck run` every period).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess, type ProcessOutcome } from "../../src/act/run-process.js";
import { makeRootfs } from "../../src/demo/demo-engine.js";
import { spawnTracked, type Daemon } from "./daemon-process.js";
import { sweepStale } from "./netns.js";
import { CLI } from "./built-cli.js";
import { waitFor } from "./wait.js";

const PREFIX = "wdmpod";
let counter = 0;

/** Why a Podman engine cannot run here, or null when it can. */
export function podmanUnavailable(): string | null {
  if (process.platform !== "linux") return "needs Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root";
  for (const p of ["/usr/bin/podman", "/usr/bin/crun", "/usr/bin/unshare", "/usr/sbin/ip", "/usr/bin/curl"]) {
    if (!existsSync(p)) return `${p} is missing (apt-get install podman crun netavark iproute2 curl)`;
  }
  if (!existsSync("/usr/lib/podman/netavark")) return "netavark is missing (apt-get install netavark)";
  return null;
}

/** Skip reason for node:test, or undefined to run; in CI a missing prerequisite throws. */
export function skipUnlessPodman(): string | undefined {
  const why = podmanUnavailable();
  if (why === null) return undefined;
  if (process.env.CI) throw new Error(`container tests must run in CI, but: ${why}`);
  return `Podman not available: ${why}`;
}

export interface ContainerOptions {
  name: string;
  /** Networks to join (created with createNetwork), each with its aliases. */
  networks?: Array<{ name: string; aliases?: string[] }>;
  /** --network host. */
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  /** HEALTHCHECK: healthy while the file /state/ok exists in the container (stateDir(name)/ok here). */
  healthcheck?: boolean;
  /** Port the container's HTTP server listens on. Default 8080. */
  port?: number;
}

export interface Engine {
  readonly socket: string;
  /** The network namespace the engine and its containers live in. */
  readonly ns: string;
  readonly dir: string;
  /** Runs the podman CLI against this engine (remote, through the socket). */
  podman(args: string[], timeoutMs?: number): Promise<ProcessOutcome>;
  createNetwork(name: string, subnet: string): Promise<void>;
  /** Creates and starts a container running a small HTTP server (node) on `port`. */
  run(opts: ContainerOptions): Promise<string>;
  /** Host directory mounted at /state in container `name`. */
  stateDir(name: string): string;
  setHealthy(name: string, healthy: boolean): void;
  /** Runs `podman healthcheck run NAME` every `periodMs` (the systemd timer Podman would use). */
  healthTimer(name: string, periodMs: number): () => void;
  /** GET on the engine's API (path without version); parsed JSON, or undefined on 404. */
  api(path: string): Promise<unknown>;
  /** Runs argv inside the engine's network namespace, bounded. */
  runInside(argv: string[], timeoutMs?: number): Promise<ProcessOutcome>;
  /** Starts `wdmesh run --config CONFIG` inside the engine's network namespace. */
  spawnDaemon(config: string): Daemon;
  /** GET url from inside the namespace (curl); parsed JSON or undefined. */
  getJson(url: string, token?: string): Promise<unknown>;
  /** POST url from inside the namespace (curl); the HTTP status, or null. */
  post(url: string, token?: string): Promise<number | null>;
  /** Stops the engine, removes every container, the namespace and the directory. Idempotent. */
  stop(): Promise<void>;
}

function ipSync(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/**
 * Throws when namespace `ns` has a default route (IPv4 or IPv6): traffic to an address
 * that vanished (a bridge Podman removed) would then leave the machine.
 */
export function assertNoDefaultRoute(ns: string): void {
  for (const family of ["-4", "-6"]) {
    const routes = execFileSync("ip", ["-n", ns, family, "route", "show", "default"], {
      encoding: "utf8",
      timeout: 10_000,
    }).trim();
    if (routes !== "") {
      throw new Error(
        `network namespace ${ns} has a default route (${routes}): container addresses must never route off this machine`,
      );
    }
  }
}

/** Starts Podman's API service in a namespace of its own; resolves once it answers. */
export async function startPodman(): Promise<Engine> {
  sweepStale(PREFIX);
  const id = `${PREFIX}${process.pid}x${counter++}`;
  const dir = mkdtempSync(join(tmpdir(), "wdm-podman-"));
  const socket = join(dir, "podman.sock");
  const conf = join(dir, "containers.conf");
  writeFileSync(
    conf,
    [
      "[containers]",
      "default_ulimits = []",
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "[network]",
      'network_backend = "netavark"',
      `network_config_dir = "${join(dir, "networks")}"`,
      "",
    ].join("\n"),
  );
  const global = [
    "--root",
    join(dir, "root"),
    "--runroot",
    join(dir, "runroot"),
    "--tmpdir",
    join(dir, "tmp"),
  ];
  ipSync(["netns", "add", id]);
  ipSync(["-n", id, "link", "set", "lo", "up"]);
  const onExit = (): void => {
    try {
      service.kill("SIGKILL");
    } catch {
      // gone
    }
    try {
      ipSync(["netns", "del", id]);
    } catch {
      // gone
    }
  };
  process.once("exit", onExit);
  try {
    assertNoDefaultRoute(id);
  } catch (err) {
    ipSync(["netns", "del", id]);
    process.removeListener("exit", onExit);
    throw err;
  }
  const script = `mount -t cgroup2 none /sys/fs/cgroup && exec podman ${global.join(" ")} system service --time=0 unix://${socket}`;
  const service: ChildProcess = spawn(
    "ip",
    ["netns", "exec", id, "unshare", "--mount", "--propagation", "private", "sh", "-c", script],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CONTAINERS_CONF: conf } },
  );
  let serviceErr = "";
  service.stderr?.on("data", (d: Buffer) => (serviceErr = (serviceErr + d.toString()).slice(-4000)));
  const timers = new Set<NodeJS.Timeout>();
  const remote = ["--remote", "--url", `unix://${socket}`];
  const podman = (args: string[], timeoutMs = 60_000): Promise<ProcessOutcome> =>
    runProcess(["podman", ...remote, ...args], { timeoutMs, env: { ...process.env, CONTAINERS_CONF: conf } });
  const must = async (args: string[]): Promise<string> => {
    const r = await podman(args);
    if (r.code !== 0)
      throw new Error(`podman ${args.join(" ")} failed (${String(r.code)}): ${r.stderr || r.stdout}`);
    return r.stdout.trim();
  };
  const api = (path: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: `/v1.41${path}`, headers: { host: "d" }, timeout: 10_000 },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => {
            if (res.statusCode === 404) return resolve(undefined);
            try {
              resolve(JSON.parse(body));
            } catch {
              resolve(body);
            }
          });
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error("engine did not answer within 10 s")));
      req.end();
    });
  await waitFor(
    `Podman's API service on ${socket}`,
    async () => {
      if (service.exitCode !== null) throw new Error(`podman system service exited: ${serviceErr}`);
      return existsSync(socket) && (await api("/_ping").catch(() => undefined)) !== undefined;
    },
    30_000,
  );
  const rootfs = join(dir, "rootfs");
  makeRootfs(rootfs);
  const stateDir = (name: string): string => join(dir, "state", name);
  const inside = (argv: string[]): string[] => ["ip", "netns", "exec", id, ...argv];
  let stopped = false;

  const engine: Engine = {
    socket,
    ns: id,
    dir,
    podman,
    async createNetwork(name, subnet) {
      await must(["network", "create", "--subnet", subnet, name]);
      assertNoDefaultRoute(id);
    },
    async run(o) {
      const port = o.port ?? 8080;
      mkdirSync(stateDir(o.name), { recursive: true });
      const args = ["run", "-d", "--name", o.name, "--privileged", "--pids-limit", "0"];
      args.push("-v", "/usr:/usr:ro", "-v", `${stateDir(o.name)}:/state`);
      if (o.hostNetwork) args.push("--network", "host");
      for (const n of o.networks ?? []) {
        args.push("--network", n.name);
        for (const a of n.aliases ?? []) args.push("--network-alias", a);
      }
      for (const [k, v] of Object.entries(o.labels ?? {})) args.push("--label", `${k}=${v}`);
      if (o.healthcheck) {
        args.push("--health-cmd", "test -e /state/ok", "--health-interval", "0", "--health-retries", "1");
      }
      const server = `require("http").createServer((q,s)=>s.end("ok")).listen(${port})`;
      args.push("--rootfs", rootfs, "/usr/bin/node", "-e", server);
      const cid = await must(args);
      assertNoDefaultRoute(id);
      return cid;
    },
    stateDir,
    setHealthy(name, healthy) {
      const f = join(stateDir(name), "ok");
      mkdirSync(stateDir(name), { recursive: true });
      if (healthy) writeFileSync(f, "ok\n");
      else rmSync(f, { force: true });
    },
    healthTimer(name, periodMs) {
      let busy = false;
      const t = setInterval(() => {
        if (busy || stopped) return;
        busy = true;
        void podman(["healthcheck", "run", name], 20_000).finally(() => (busy = false));
      }, periodMs);
      timers.add(t);
      return () => {
        clearInterval(t);
        timers.delete(t);
      };
    },
    api,
    runInside: (argv, timeoutMs = 20_000) => runProcess(inside(argv), { timeoutMs }),
    spawnDaemon: (config) => spawnTracked(inside([process.execPath, CLI, "run", "--config", config])),
    async getJson(url, token) {
      const auth = token ? ["-H", `Authorization: Bearer ${token}`] : [];
      const r = await runProcess(inside(["curl", "-s", "-f", "-m", "5", ...auth, url]), {
        timeoutMs: 15_000,
      });
      if (r.code !== 0) return undefined;
      try {
        return JSON.parse(r.stdout) as unknown;
      } catch {
        return undefined;
      }
    },
    async post(url, token) {
      const auth = token ? ["-H", `Authorization: Bearer ${token}`] : [];
      const r = await runProcess(
        inside([
          "curl",
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-m",
          "30",
          "-X",
          "POST",
          ...auth,
          url,
        ]),
        { timeoutMs: 40_000 },
      );
      const code = Number(r.stdout.trim());
      return Number.isInteger(code) && code > 0 ? code : null;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      if (service.exitCode === null && existsSync(socket)) {
        await podman(["rm", "-f", "-t", "0", "-a"], 60_000).catch(() => undefined);
        await podman(["network", "prune", "-f"], 30_000).catch(() => undefined);
      }
      if (service.exitCode === null) {
        const exited = new Promise((r) => service.once("exit", r));
        service.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        service.kill("SIGKILL");
      }
      try {
        ipSync(["netns", "del", id]);
      } catch {
        // gone already
      }
      process.removeListener("exit", onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return engine;
}
