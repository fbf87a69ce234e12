// A real systemd for tests: systemd booted as PID 1 of a new PID + mount namespace
// (root only; about a second). Everything "inside" runs through nsenter. The namespace
// shares the host's network, so a unit listening on 127.0.0.1:PORT is reachable from
// the test process. shutdown() kills its PID 1 with SIGKILL, which kills every process
// of the namespace; nothing is left behind.
//
// /tmp inside is a private tmpfs (not optional: systemd-tmpfiles would otherwise empty
// the machine's /tmp), and /run is systemd's own tmpfs, so unit files written to
// /run/systemd/system stay inside the namespace.
//
// Each systemd also gets its own cgroup subtree: before booting, the namespace's shell
// moves into a fresh child cgroup (wdmesh-test-<pid>-<n>) of every cgroup hierarchy it
// is in, enters a new cgroup namespace, and bind-mounts that child over each hierarchy's
// mount point, so systemd sees it as the root. Two namespaced systemds therefore never
// share a cgroup (a unit of the same name in two tests, or an eBPF IPAddressDeny left
// on a cgroup by a killed run, cannot reach another test), and any number of them run
// at once: there is no machine-wide lock. shutdown() removes the subtree; a subtree
// whose test process died is swept (its processes killed) by the next boot.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmdirSync, rmSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { runProcess, type ProcessOutcome } from "../../src/act/run-process.js";
import { until, waitFor } from "./wait.js";
export { freePort } from "./ports.js";

const SYSTEMD = "/lib/systemd/systemd";
const REPO = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const REPO_UNDER_TMP = REPO === "/tmp" || REPO.startsWith("/tmp/");
/**
 * Where this repository is seen from inside the namespace. The private tmpfs hides a
 * checkout that lives under /tmp, so such a checkout is bind-mounted on /srv (inside
 * the namespace only) before the tmpfs goes on.
 */
export const REPO_IN_NS = REPO_UNDER_TMP ? "/srv" : REPO;

/** A path of this repository as seen from inside the namespace. */
export function inNs(path: string): string {
  return path === REPO || path.startsWith(`${REPO}/`) ? REPO_IN_NS + path.slice(REPO.length) : path;
}

/** Why a namespaced systemd cannot run here, or null when it can. */
export function systemdUnavailable(): string | null {
  if (process.platform !== "linux") return "needs Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0)
    return "needs root (unshare, nsenter, systemd)";
  for (const p of [
    SYSTEMD,
    "/usr/bin/unshare",
    "/usr/bin/nsenter",
    "/usr/bin/setsid",
    "/usr/bin/systemctl",
  ]) {
    if (!existsSync(p)) return `${p} is missing (install systemd and util-linux)`;
  }
  return null;
}

/**
 * Skip reason for node:test, or undefined to run. In CI (process.env.CI set) a missing
 * prerequisite throws instead, so the suite fails loudly rather than skipping.
 */
export function skipUnlessSystemd(): string | undefined {
  const why = systemdUnavailable();
  if (why === null) return undefined;
  if (process.env.CI) throw new Error(`real-systemd integration tests must run in CI, but: ${why}`);
  return `real systemd not available: ${why}`;
}

// A tiny agent: GET /health → 200 {"status":"ok","pid":N}; with argv mode "broken" → 503.
const AGENT = `
const http = require("node:http");
const [port, mode] = process.argv.slice(1);
http.createServer((req, res) => {
  const ok = mode !== "broken" && req.url.startsWith("/health");
  res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: ok ? "ok" : "broken", pid: process.pid }));
}).listen(Number(port), "127.0.0.1");
`;

export interface SystemdNs {
  /** PID of the namespace's systemd (PID 1 inside), as seen from the host. */
  readonly pid: number;
  /** Its console log. */
  readonly log: string;
  /** argv prefix that runs systemctl against this systemd. */
  readonly systemctl: string[];
  /** Runs CMD inside the namespace (mount + PID). */
  run(cmd: string, args?: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ProcessOutcome>;
  /** systemctl ARGS inside; throws on failure. */
  systemctlOk(...args: string[]): Promise<string>;
  /** Starts a transient agent unit serving /health on 127.0.0.1:port (mode "broken": 503). */
  startAgentUnit(
    name: string,
    port: number,
    opts?: { mode?: "ok" | "broken"; properties?: string[] },
  ): Promise<void>;
  /** MainPID of UNIT, in the namespace's PID numbering (0 when none). */
  mainPid(unit: string): Promise<number>;
  /** systemctl show -p PROP --value. */
  prop(unit: string, prop: string): Promise<string>;
  /** Writes a file inside the namespace (e.g. a unit under /run/systemd/system). */
  writeFile(path: string, content: string): Promise<void>;
  /**
   * Installs a unit file in /usr/local/lib/systemd/system (where package-like units live,
   * below /run in priority, so `mask --runtime` can override it) and reloads.
   * /usr/local/lib is first covered by a tmpfs private to the namespace, so the
   * machine's own files are untouched.
   */
  installUnit(name: string, content: string): Promise<void>;
  shutdown(): Promise<void>;
}

/** One cgroup hierarchy this process is in: where it is mounted and our cgroup's directory in it. */
interface Hierarchy {
  mount: string;
  /** This process's cgroup, as a directory under `mount`. */
  dir: string;
  cpuset: boolean;
}

/** The cgroup hierarchies mounted under /sys/fs/cgroup (cgroup v1, v2 or both), from /proc/self. */
function hierarchies(): Hierarchy[] {
  const mine = readFileSync("/proc/self/cgroup", "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const [, ctrls = "", path = "/"] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
      return { ctrls, path };
    });
  const out: Hierarchy[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    const fstype = f[sep + 1];
    const root = f[3] ?? "/";
    const mount = f[4] ?? "";
    if (!mount.startsWith("/sys/fs/cgroup") || (fstype !== "cgroup" && fstype !== "cgroup2")) continue;
    const opts = (f[sep + 3] ?? "").split(",");
    const entry =
      fstype === "cgroup2"
        ? mine.find((m) => m.ctrls === "")
        : mine.find((m) => m.ctrls !== "" && m.ctrls.split(",").every((c) => opts.includes(c)));
    if (!entry) continue;
    const rel = root === "/" ? entry.path : entry.path.slice(root.length);
    out.push({ mount, dir: join(mount, rel), cpuset: opts.includes("cpuset") });
  }
  return out;
}

const SUBTREE = /^wdmesh-test-(\d+)-\d+$/;
let subtrees = 0;

/** Removes a cgroup subtree, deepest first (a cgroup goes once its processes are gone). */
async function removeSubtree(dir: string): Promise<void> {
  await until(
    `the test cgroup ${dir} removed`,
    async () => {
      try {
        for (const e of readdirSync(dir, { withFileTypes: true }))
          if (e.isDirectory()) await removeSubtree(join(dir, e.name));
        rmdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      return true;
    },
    10_000,
    { retryErrors: true },
  );
}

/** Kills what is left in a subtree whose test process is gone, and removes it. */
async function sweepOrphans(hs: Hierarchy[]): Promise<void> {
  for (const h of hs) {
    let names: string[] = [];
    try {
      names = readdirSync(h.dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = SUBTREE.exec(name);
      if (!m || existsSync(`/proc/${m[1]}`)) continue;
      const dir = join(h.dir, name);
      for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").trim().split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
      await removeSubtree(dir).catch(() => undefined);
    }
  }
}

function childPid(parent: number): number | null {
  try {
    const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const k of kids) {
      const comm = readFileSync(`/proc/${k}/comm`, "utf8").trim();
      if (comm === "systemd") return Number(k);
    }
  } catch {
    // not there yet
  }
  return null;
}

/** Boots systemd in a fresh namespace and waits (bounded) until it is running. */
export async function bootSystemd(opts: { readyTimeoutMs?: number } = {}): Promise<SystemdNs> {
  const hs = hierarchies();
  await sweepOrphans(hs);
  const name = `wdmesh-test-${process.pid}-${++subtrees}`;
  const dirs = hs.map((h) => join(h.dir, name));
  // The outer shell creates the subtree and moves itself in (cpuset children start with
  // no CPUs or memory nodes: copy the parent's); the inner one, in the new cgroup
  // namespace, mounts each subtree over its hierarchy.
  const enter = hs
    .map(
      (h, i) =>
        `mkdir '${dirs[i]}' && ` +
        (h.cpuset
          ? `cat '${h.dir}/cpuset.cpus' > '${dirs[i]}/cpuset.cpus' && cat '${h.dir}/cpuset.mems' > '${dirs[i]}/cpuset.mems' && `
          : "") +
        `echo $$ > '${dirs[i]}/cgroup.procs'`,
    )
    .join(" && ");
  const mounts = hs.map((h, i) => `mount --bind '${dirs[i]}' '${h.mount}'`).join(" && ");
  const log = join(tmpdir(), `wdmesh-systemd-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, "w");
  let outer: ChildProcess;
  try {
    const inner =
      `${mounts ? `${mounts} && ` : ""}` +
      `${REPO_UNDER_TMP ? `mount --bind '${REPO}' /srv && ` : ""}` +
      `mount -t tmpfs tmpfs /tmp && exec env container=wdmesh-test ${SYSTEMD} --system --unit=basic.target`;
    outer = spawn(
      "setsid",
      [
        "bash",
        "-c",
        `${enter ? `${enter} && ` : ""}exec unshare --cgroup --fork --pid --mount --uts --ipc --mount-proc ` +
          `--propagation private bash -c "$0"`,
        inner,
      ],
      { stdio: ["ignore", fd, fd] },
    );
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((r) => outer.once("exit", () => r()));
  let pid: number | null = null;
  const kill = async (): Promise<void> => {
    if (pid !== null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already dead
      }
    }
    if (outer.exitCode === null && outer.signalCode === null) {
      if (pid === null) outer.kill("SIGKILL");
      await Promise.race([exited, sleep(10_000)]);
    }
    for (const d of dirs) await removeSubtree(d);
  };
  const readyBy = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  try {
    const nsPid = await waitFor(
      `systemd to start (log: ${log})`,
      () => {
        if (outer.pid !== undefined) pid = childPid(outer.pid);
        if (pid === null && outer.exitCode !== null)
          throw new Error(`systemd namespace exited early; see ${log}`);
        return pid;
      },
      readyBy - Date.now(),
    );
    const prefix = ["nsenter", "-t", String(nsPid), "-m", "-p"];
    let state = "";
    await until(
      `systemd to be running (log: ${log})`,
      async () => {
        const r = await runProcess([...prefix, "systemctl", "is-system-running"], { timeoutMs: 5000 });
        state = r.stdout.trim();
        return state === "running" || state === "degraded";
      },
      Math.max(0, readyBy - Date.now()),
      { everyMs: 100 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last state "${state}"`);
    });

    let libCovered = false;
    const ns: SystemdNs = {
      pid: nsPid,
      log,
      systemctl: [...prefix, "systemctl"],
      run: (cmd, args = [], o = {}) =>
        runProcess([...prefix, cmd, ...args], {
          timeoutMs: o.timeoutMs ?? 30_000,
          ...(o.input !== undefined ? { input: o.input } : {}),
        }),
      async systemctlOk(...args) {
        const r = await ns.run("systemctl", args);
        if (r.code !== 0)
          throw new Error(`systemctl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
        return r.stdout;
      },
      async startAgentUnit(name, port, o = {}) {
        const props = ["-p", "Restart=no", ...(o.properties ?? []).flatMap((p) => ["-p", p])];
        const r = await ns.run("systemd-run", [
          `--unit=${name}`,
          ...props,
          process.execPath,
          "-e",
          AGENT,
          String(port),
          o.mode ?? "ok",
        ]);
        if (r.code !== 0) throw new Error(`systemd-run ${name} failed: ${r.stderr.trim()}`);
        await until(
          `agent unit ${name} to listen on 127.0.0.1:${port}`,
          async () => {
            await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
            return true;
          },
          15_000,
          { retryErrors: true },
        );
      },
      async prop(unit, p) {
        return (await ns.systemctlOk("show", unit, "-p", p, "--value")).trim();
      },
      async mainPid(unit) {
        return Number(await ns.prop(unit, "MainPID"));
      },
      async writeFile(path, content) {
        const r = await ns.run("tee", [path], { input: content });
        if (r.code !== 0) throw new Error(`cannot write ${path} in the namespace: ${r.stderr.trim()}`);
      },
      async installUnit(name, content) {
        if (!libCovered) {
          const m = await ns.run("mount", ["-t", "tmpfs", "tmpfs", "/usr/local/lib"]);
          if (m.code !== 0)
            throw new Error(`cannot cover /usr/local/lib in the namespace: ${m.stderr.trim()}`);
          const d = await ns.run("mkdir", ["-p", "/usr/local/lib/systemd/system"]);
          if (d.code !== 0) throw new Error(`cannot create the unit directory: ${d.stderr.trim()}`);
          libCovered = true;
        }
        await ns.writeFile(`/usr/local/lib/systemd/system/${name}`, content);
        await ns.systemctlOk("daemon-reload");
      },
      async shutdown() {
        await kill();
        rmSync(log, { force: true });
      },
    };
    return ns;
  } catch (err) {
    await kill();
    throw err;
  }
}
