// Runs one Jepsen-style schedule (schedule.ts) against real processes: three mesh nodes
// (`wdmesh run` daemons and agents embedding the library's Monitor, as the seed picks),
// one step ledger directory, one agent (a loopback HTTP server) with a slow restart
// command that logs "start"/"end" lines (the target's side) and heals the agent when it
// ends. Injects the faults, heals them all, waits (bounded) for the failure to be
// remediated, stops everything and returns the history for check.ts. Never hangs: every
// wait is bounded, and every process it started is killed before it returns.
import {
  killUnfinishedRestarts,
  meshAndAgentSettled,
  readRestartLog,
  writeSlowRestartMesh,
} from "../helpers/slow-restart-mesh.js";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check, type Episode, type StepLine } from "./check.js";
import type { Fault, Schedule } from "./schedule.js";

const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const EMBEDDED = fileURLToPath(new URL("../fixtures/embedded-node.mjs", import.meta.url));
const KEY = "jepsen-ledger-mesh-key-0123456789ab";
const INTERVAL_MS = 400;
const TAKEOVER_MS = 4_000;
export const STEP_TIMEOUT_MS = 10_000;
/** Every failure is remediated within this long after all faults healed (ms). */
export const REMEDIATION_BOUND_MS = 30_000;

export interface RunResult {
  seed: number;
  violations: string[];
  restarts: number;
  episodes: number;
  ms: number;
  /** Set when the run itself could not be carried out (not a violation of the product). */
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bounded(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const by = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > by) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function runSchedule(s: Schedule, opts: { log?: (m: string) => void } = {}): Promise<RunResult> {
  const t0 = Date.now();
  const say = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), `wdmesh-jepsen-${s.seed}-`));
  const log = join(dir, "restarts.log");
  let cache: { at: number; lines: StepLine[] } = { at: 0, lines: [] };
  const lines = (): StepLine[] => {
    if (Date.now() - cache.at < 10) return cache.lines;
    const ls = readRestartLog(log);
    cache = { at: Date.now(), lines: ls };
    return ls;
  };

  // The agent: failing or hanging during an episode, healed by a restart's end.
  const episodes: Episode[] = [];
  const current = (): Episode | undefined => {
    const e = episodes.at(-1);
    if (!e || e.end !== undefined) return undefined;
    const healer = lines().find((l) => l.kind === "end" && l.at >= e.start);
    if (healer) e.end = healer.at;
    return e.end === undefined ? e : undefined;
  };
  const sockets = new Set<Socket>();
  const agent = createServer((req: IncomingMessage, res: ServerResponse) => {
    const e = current();
    if (e?.kind === "hang") return; // never answers: the probe times out
    res.writeHead(e ? 503 : 200).end(e ? "down" : "ok");
    void req;
  });
  agent.on("connection", (c: Socket) => {
    sockets.add(c);
    c.once("close", () => sockets.delete(c));
  });
  await new Promise<void>((r) => agent.listen(0, "127.0.0.1", r));
  const agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;

  const names = s.kinds.map((_, i) => `jp${i}`);
  const { url } = await writeSlowRestartMesh({
    dir,
    names,
    agentUrl,
    log,
    restartS: s.restartS,
    intervalMs: INTERVAL_MS,
    takeoverMs: TAKEOVER_MS,
    meshKey: KEY,
    backoff: { initial: "400ms", max: "800ms" },
    restartTimeout: `${STEP_TIMEOUT_MS}ms`,
    selfHealthYaml: "self_health: { loop_delay_p99: 2000ms, lateness_p99: 2000ms, window: 3000ms }",
  });

  const procs: Array<ChildProcess | null> = names.map(() => null);
  const outputs: string[] = names.map(() => "");
  const state: Array<"up" | "down" | "stopped"> = names.map(() => "down");
  const start = (i: number): void => {
    const config = join(dir, `${names[i]}.yaml`);
    const argv = s.kinds[i] === "daemon" ? [CLI, "run", "--config", config] : [EMBEDDED, config];
    const c = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    const add = (d: Buffer) => (outputs[i] = (outputs[i] + d.toString()).slice(-20_000));
    c.stdout?.on("data", add);
    c.stderr?.on("data", add);
    procs[i] = c;
    state[i] = "up";
  };
  const kill = async (i: number): Promise<void> => {
    const c = procs[i];
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGCONT");
    c.kill("SIGKILL");
    await Promise.race([gone, sleep(5_000)]);
    state[i] = "down";
  };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void | Promise<void>): void => {
    const h = setTimeout(() => {
      timers.delete(h);
      void fn();
    }, ms);
    timers.add(h);
  };
  const restartAfter = (i: number, downMs: number) =>
    later(downMs, () => (state[i] === "down" ? start(i) : undefined));
  const nodeOf = (name: string) => names.indexOf(name);

  let result: RunResult;
  try {
    names.forEach((_, i) => start(i));
    await bounded(
      "the mesh to settle",
      () =>
        meshAndAgentSettled(
          names.map((_, i) => url(i)),
          INTERVAL_MS,
        ),
      60_000,
    );
    say(
      `seed ${s.seed}: settled in ${Date.now() - t0} ms; kinds ${s.kinds.join(",")}, restart ${s.restartS}s`,
    );

    // Faults. Reactive ones ("after start") are armed and fire on the next start line.
    const armed: Fault[] = [];
    let seenStarts = 0;
    const watcher = setInterval(() => {
      const st = lines().filter((l) => l.kind === "start");
      for (const l of st.slice(seenStarts)) {
        const f = armed.shift();
        const i = nodeOf(l.node);
        if (!f || i < 0 || state[i] !== "up") continue;
        if (f.kind === "kill-after-start") {
          void kill(i).then(() => restartAfter(i, f.downMs));
        } else if (f.kind === "stop-after-start") {
          procs[i]?.kill("SIGSTOP");
          state[i] = "stopped";
          later(f.stopMs, () => {
            procs[i]?.kill("SIGCONT");
            if (state[i] === "stopped") state[i] = "up";
          });
        }
      }
      seenStarts = st.length;
    }, 5);
    const faultsStart = Date.now();
    for (const f of s.faults) {
      const wait = faultsStart + f.at - Date.now();
      if (wait > 0) await sleep(wait);
      if (f.kind === "agent-fail" || f.kind === "agent-hang") {
        if (!current()) episodes.push({ kind: f.kind === "agent-fail" ? "fail" : "hang", start: Date.now() });
      } else if (f.kind === "node-kill") {
        if (state[f.node] === "up") {
          await kill(f.node);
          restartAfter(f.node, f.downMs);
        }
      } else if (f.kind === "node-stop") {
        if (state[f.node] === "up") {
          procs[f.node]?.kill("SIGSTOP");
          state[f.node] = "stopped";
          later(f.stopMs, () => {
            procs[f.node]?.kill("SIGCONT");
            if (state[f.node] === "stopped") state[f.node] = "up";
          });
        }
      } else armed.push(f);
    }
    const rest = faultsStart + s.faultsMs - Date.now();
    if (rest > 0) await sleep(rest);
    clearInterval(watcher);
    // Heal: every pending continue/restart now.
    for (const h of timers) clearTimeout(h);
    timers.clear();
    for (const [i, c] of procs.entries()) {
      if (state[i] === "stopped") c?.kill("SIGCONT");
      if (state[i] === "down" || c?.exitCode !== null) start(i);
      state[i] = "up";
    }
    const healedAt = Date.now();
    // Bounded: the failure (if any) is remediated, and no restart is left running.
    const quiet = () => {
      const ls = lines();
      const running = ls.filter(
        (l) => l.kind === "start" && !ls.some((e) => e.kind === "end" && e.pid === l.pid),
      );
      return current() === undefined && running.length === 0;
    };
    let checkedAt = Date.now();
    try {
      await bounded("the failure to be remediated", quiet, REMEDIATION_BOUND_MS + s.restartS * 1000);
      // A little longer: a late, wrong restart would show up here.
      await sleep(2 * INTERVAL_MS + 500);
    } catch {
      // reported by the checker (not remediated within the bound)
    }
    checkedAt = Date.now();
    current();
    const violations = check({
      lines: lines(),
      episodes,
      healedAt,
      checkedAt,
      boundMs: REMEDIATION_BOUND_MS,
      stepTimeoutMs: STEP_TIMEOUT_MS,
    });
    result = {
      seed: s.seed,
      violations,
      restarts: lines().filter((l) => l.kind === "start").length,
      episodes: episodes.length,
      ms: Date.now() - t0,
    };
    if (violations.length > 0) {
      say(`--- seed ${s.seed} restarts.log:\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
      for (const [i, o] of outputs.entries())
        say(`--- ${names[i]} (${s.kinds[i]}):\n${o.split("\n").slice(-25).join("\n")}`);
    }
  } catch (e) {
    result = {
      seed: s.seed,
      violations: [],
      restarts: 0,
      episodes: 0,
      ms: Date.now() - t0,
      error: String(e),
    };
    for (const [i, o] of outputs.entries())
      say(`--- ${names[i]} (${s.kinds[i]}):\n${o.split("\n").slice(-15).join("\n")}`);
  } finally {
    for (const h of timers) clearTimeout(h);
    await Promise.all(names.map((_, i) => kill(i)));
    killUnfinishedRestarts(readRestartLog(log));
    for (const c of sockets) c.destroy();
    await new Promise((r) => agent.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
