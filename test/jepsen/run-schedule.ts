// Runs one Jepsen-style schedule (schedule.ts) against real processes: three mesh nodes
// (`wdmesh run` daemons and agents embedding the library's Monitor, as the seed picks),
// one step ledger directory, one agent (an HTTP server, test/fixtures/jepsen-agent.ts)
// with a slow restart command that logs "start"/"end" lines (the target's side) and heals
// the agent when it ends. Each node and the agent is a host of a lab
// (test/helpers/netns.ts: a network namespace on a private bridge, no route out), so the
// network between them can be cut, one way or both. Injects the faults, heals them all,
// waits (bounded) for the failure to be remediated, stops everything and returns the
// history for check.ts, with when each node was cut off from every other. Never hangs:
// every wait is bounded, and every process and namespace it made is gone before it returns.
import {
  healedAt,
  killUnfinishedRestarts,
  meshAndAgentSettled,
  readRestartLog,
  writeSlowRestartMesh,
} from "../helpers/slow-restart-mesh.js";
import { createLab, type Lab } from "../helpers/netns.js";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check, type Episode, type StepLine } from "./check.js";
import type { Endpoint, Fault, Schedule } from "./schedule.js";

const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const EMBEDDED = fileURLToPath(new URL("../fixtures/embedded-node.mjs", import.meta.url));
const AGENT = fileURLToPath(new URL("../fixtures/jepsen-agent.ts", import.meta.url));
const KEY = "jepsen-ledger-mesh-key-0123456789ab";
const INTERVAL_MS = 400;
const TAKEOVER_MS = 4_000;
export const STEP_TIMEOUT_MS = 10_000;
/** Every failure is remediated within this long after all faults healed (ms). */
export const REMEDIATION_BOUND_MS = 30_000;
/**
 * A node cut off from every other node for this long has no view left to confirm with
 * (a view counts for 3 intervals after the request that fetched it was sent, which is at
 * most one poll timeout earlier), with a second of slack for the cut itself (ms).
 */
export const QUORUM_WINDOW_MS = 3 * INTERVAL_MS + 300 + 1_000;

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
  const episodeFile = join(dir, "episode.json");
  let cache: { at: number; lines: StepLine[] } = { at: 0, lines: [] };
  const lines = (): StepLine[] => {
    if (Date.now() - cache.at < 10) return cache.lines;
    const ls = readRestartLog(log);
    cache = { at: Date.now(), lines: ls };
    return ls;
  };

  // The agent's failure episodes, each healed by a restart's end (the agent reads the
  // same log: test/fixtures/jepsen-agent.ts).
  const episodes: Episode[] = [];
  const current = (): Episode | undefined => {
    const e = episodes.at(-1);
    if (!e || e.end !== undefined) return undefined;
    e.end = healedAt(e.start, lines());
    return e.end === undefined ? e : undefined;
  };
  const beginEpisode = (kind: Episode["kind"]): void => {
    const e: Episode = { kind, start: Date.now() };
    writeFileSync(`${episodeFile}.new`, JSON.stringify({ kind, start: e.start }));
    renameSync(`${episodeFile}.new`, episodeFile);
    episodes.push(e);
  };

  const names = s.kinds.map((_, i) => `jp${i}`);
  let lab: Lab | undefined;
  const procs: Array<ChildProcess | null> = names.map(() => null);
  const outputs: string[] = names.map(() => "");
  const state: Array<"up" | "down" | "stopped"> = names.map(() => "down");
  const timers = new Set<NodeJS.Timeout>();

  let result: RunResult;
  try {
    lab = await createLab([...names, "agent"], { subnet: 40 + (s.seed % 200) });
    const l = lab;
    const agentIp = l.host("agent").ip;
    const { url } = await writeSlowRestartMesh({
      dir,
      names,
      agentUrl: `http://${agentIp}:8080`,
      log,
      restartS: s.restartS,
      intervalMs: INTERVAL_MS,
      takeoverMs: TAKEOVER_MS,
      meshKey: KEY,
      backoff: { initial: "400ms", max: "800ms" },
      restartTimeout: `${STEP_TIMEOUT_MS}ms`,
      selfHealthYaml: "self_health: { loop_delay_p99: 2000ms, lateness_p99: 2000ms, window: 3000ms }",
      addresses: names.map((n) => l.host(n).ip),
    });
    const agent = l
      .host("agent")
      .spawn([process.execPath, "--import", "tsx", AGENT, agentIp, "8080", episodeFile, log]);
    let agentOut = "";
    agent.stdout?.on("data", (d: Buffer) => (agentOut += d.toString()));
    agent.stderr?.on("data", (d: Buffer) => (agentOut = (agentOut + d.toString()).slice(-5_000)));

    const start = (i: number): void => {
      const config = join(dir, `${names[i]}.yaml`);
      const argv = s.kinds[i] === "daemon" ? [CLI, "run", "--config", config] : [EMBEDDED, config];
      const c = l.host(names[i] as string).spawn([process.execPath, ...argv]);
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

    // The network: each direction dropped while any fault holds it (counted), applied in
    // order, one change at a time; a node reaching no other node both ways is cut off.
    const hostOf = (e: Endpoint): string => (e === "agent" ? "agent" : (names[e] as string));
    const drops = new Map<string, number>();
    const cutOff: Array<{ node: string; from: number; to?: number }> = [];
    let netOps: Promise<void> = Promise.resolve();
    const reaches = (a: string, b: string) => !drops.get(`${a}>${b}`) && !drops.get(`${b}>${a}`);
    const recordCutOff = (): void => {
      for (const n of names) {
        const alone = names.every((m) => m === n || !reaches(n, m));
        const open = cutOff.find((c) => c.node === n && c.to === undefined);
        if (alone && !open) cutOff.push({ node: n, from: Date.now() });
        if (!alone && open) open.to = Date.now();
      }
    };
    const drop = (from: string, to: string, on: boolean): Promise<void> =>
      (netOps = netOps.then(async () => {
        const k = `${from}>${to}`;
        const was = drops.get(k) ?? 0;
        const now = Math.max(0, was + (on ? 1 : -1));
        if (now === 0) drops.delete(k);
        else drops.set(k, now);
        // A cut counts once applied; a heal from before it is lifted (the cut-off the
        // checker sees is never longer than the real one).
        if (was === 0 && now === 1) await l.cutOneWay(from, to);
        recordCutOff();
        if (was === 1 && now === 0) await l.healOneWay(from, to);
      }));
    const link = async (a: string, b: string, on: boolean) => {
      await drop(a, b, on);
      await drop(b, a, on);
    };
    const healNetwork = (): Promise<void> =>
      (netOps = netOps.then(async () => {
        for (const k of [...drops.keys()]) {
          drops.delete(k);
          recordCutOff();
          const [from, to] = k.split(">") as [string, string];
          await l.healOneWay(from, to);
        }
      }));

    names.forEach((_, i) => start(i));
    const get = async (u: string): Promise<unknown> => {
      const i = names.findIndex((_, j) => u.startsWith(url(j)));
      const got = await l.host(names[i] as string).getJson(u);
      if (got === undefined) throw new Error(`${u}: no answer`);
      return got;
    };
    await bounded(
      "the mesh to settle",
      () =>
        meshAndAgentSettled(
          names.map((_, i) => url(i)),
          INTERVAL_MS,
          get,
        ),
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; agent: ${agentOut.slice(-500)}`);
    });
    say(
      `seed ${s.seed}: settled in ${Date.now() - t0} ms; kinds ${s.kinds.join(",")}, restart ${s.restartS}s`,
    );

    // Faults. Reactive ones ("after start") are armed and fire on the next start line.
    const armed: Fault[] = [];
    let seenStarts = 0;
    const watcher = setInterval(() => {
      const st = lines().filter((x) => x.kind === "start");
      for (const x of st.slice(seenStarts)) {
        const f = armed.shift();
        const i = nodeOf(x.node);
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
        if (!current()) beginEpisode(f.kind === "agent-fail" ? "fail" : "hang");
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
      } else if (f.kind === "partition") {
        const n = hostOf(f.node);
        const others = names.filter((m) => m !== n);
        for (const m of others) void link(n, m, true);
        later(f.ms, () => others.forEach((m) => void link(n, m, false)));
      } else if (f.kind === "one-way") {
        void drop(hostOf(f.from), hostOf(f.to), true);
        later(f.ms, () => drop(hostOf(f.from), hostOf(f.to), false));
      } else if (f.kind === "flap") {
        for (let k = 0; k < f.count; k++)
          later(k * f.periodMs, () => link(hostOf(f.a), hostOf(f.b), k % 2 === 0));
        // An odd count leaves the link cut: heal it one period later.
        if (f.count % 2 === 1) later(f.count * f.periodMs, () => link(hostOf(f.a), hostOf(f.b), false));
      } else armed.push(f);
    }
    const rest = faultsStart + s.faultsMs - Date.now();
    if (rest > 0) await sleep(rest);
    clearInterval(watcher);
    // Heal: every pending continue/restart and network fault now.
    for (const h of timers) clearTimeout(h);
    timers.clear();
    await healNetwork();
    for (const [i, c] of procs.entries()) {
      if (state[i] === "stopped") c?.kill("SIGCONT");
      if (state[i] === "down" || c?.exitCode !== null) start(i);
      state[i] = "up";
    }
    const healedAll = Date.now();
    // Bounded: the failure (if any) is remediated, and no restart is left running.
    const quiet = () => {
      const ls = lines();
      const running = ls.filter(
        (x) => x.kind === "start" && !ls.some((e) => e.kind === "end" && e.pid === x.pid),
      );
      return current() === undefined && running.length === 0;
    };
    try {
      await bounded("the failure to be remediated", quiet, REMEDIATION_BOUND_MS + s.restartS * 1000);
      // A little longer: a late, wrong restart would show up here.
      await sleep(2 * INTERVAL_MS + 500);
    } catch {
      // reported by the checker (not remediated within the bound)
    }
    const checkedAt = Date.now();
    current();
    const violations = check({
      lines: lines(),
      episodes,
      healedAt: healedAll,
      checkedAt,
      boundMs: REMEDIATION_BOUND_MS,
      stepTimeoutMs: STEP_TIMEOUT_MS,
      cutOff,
      quorumWindowMs: QUORUM_WINDOW_MS,
    });
    result = {
      seed: s.seed,
      violations,
      restarts: lines().filter((x) => x.kind === "start").length,
      episodes: episodes.length,
      ms: Date.now() - t0,
    };
    if (violations.length > 0) {
      say(`--- seed ${s.seed} restarts.log:\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
      say(`--- cut off: ${JSON.stringify(cutOff)}`);
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
    for (const c of procs) if (c && c.exitCode === null && c.signalCode === null) c.kill("SIGCONT");
    await lab?.destroy();
    killUnfinishedRestarts(readRestartLog(log));
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
