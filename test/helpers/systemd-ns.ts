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
// Namespaced systemds share the machine's cgroup hierarchy (no cgroup namespace), so
// two of them at once would manage the same cgroups. bootSystemd() therefore takes a
// machine-wide lock (a directory under os.tmpdir()) that shutdown() releases; test
// files using it run one after the other.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { runProcess, type ProcessOutcome } from "../../src/act/run-process.js";
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
const LOCK = join(tmpdir(), "wdmesh-systemd-ns.lock");

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

async function lock(deadline: number): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch {
      // Held: take it over when its owner is gone.
      let owner = 0;
      try {
        owner = Number(readFileSync(join(LOCK, "pid"), "utf8"));
      } catch {
        // being created or removed right now
      }
      if (owner > 0 && !existsSync(`/proc/${owner}`)) {
        // Its owner died without shutdown(): kill the systemd it left running.
        try {
          const left = Number(readFileSync(join(LOCK, "systemd"), "utf8"));
          if (left > 0) process.kill(left, "SIGKILL");
        } catch {
          // none recorded / already gone
        }
        rmSync(LOCK, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`another namespaced systemd holds ${LOCK} for too long`);
      await sleep(200);
    }
  }
}

function unlock(): void {
  try {
    if (Number(readFileSync(join(LOCK, "pid"), "utf8")) === process.pid)
      rmSync(LOCK, { recursive: true, force: true });
  } catch {
    // not ours / already gone
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
  await lock(Date.now() + 180_000);
  const log = join(tmpdir(), `wdmesh-systemd-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, "w");
  let outer: ChildProcess;
  try {
    outer = spawn(
      "setsid",
      [
        "unshare",
        "--fork",
        "--pid",
        "--mount",
        "--uts",
        "--ipc",
        "--mount-proc",
        "--propagation",
        "private",
        "bash",
        "-c",
        `${REPO_UNDER_TMP ? `mount --bind '${REPO}' /srv && ` : ""}` +
          `mount -t tmpfs tmpfs /tmp && exec env container=wdmesh-test ${SYSTEMD} --system --unit=basic.target`,
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
    unlock();
  };
  const readyBy = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  try {
    while (pid === null) {
      if (outer.pid !== undefined) pid = childPid(outer.pid);
      if (pid === null) {
        if (outer.exitCode !== null) throw new Error(`systemd namespace exited early; see ${log}`);
        if (Date.now() > readyBy) throw new Error(`systemd did not start; see ${log}`);
        await sleep(50);
      }
    }
    const nsPid = pid;
    writeFileSync(join(LOCK, "systemd"), String(nsPid));
    const prefix = ["nsenter", "-t", String(nsPid), "-m", "-p"];
    for (;;) {
      const r = await runProcess([...prefix, "systemctl", "is-system-running"], { timeoutMs: 5000 });
      const state = r.stdout.trim();
      if (state === "running" || state === "degraded") break;
      if (Date.now() > readyBy)
        throw new Error(`systemd not ready within bound (state "${state}"); see ${log}`);
      await sleep(100);
    }

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
        // Wait (bounded) until it accepts connections.
        const by = Date.now() + 15_000;
        for (;;) {
          try {
            await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
            return;
          } catch {
            if (Date.now() > by) throw new Error(`agent unit ${name} did not listen on 127.0.0.1:${port}`);
            await sleep(50);
          }
        }
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
