// The configs of a daemon mesh that watches one agent and restarts it with a slow command:
// each node NAME gets DIR/NAME.yaml, and its restart command appends
// "start NODE EFFECT_ID MS PID" and, `restartS` seconds later, "end …" to one shared log
// (each line one small O_APPEND write); and the reading of that log and of the nodes'
// answers. Used by the takeover, step-ledger and Jepsen tests.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { membersSettled } from "./mesh-doc.js";
import { freePorts } from "./ports.js";

export interface SlowRestartMeshOptions {
  dir: string;
  names: readonly string[];
  /** The agent's base URL: each node probes AGENT/health/NODE. */
  agentUrl: string;
  /** The shared log of restart starts and ends. */
  log: string;
  /** How long one restart takes, seconds. */
  restartS: number;
  /** Probe interval (and retry interval, startup grace), ms. */
  intervalMs: number;
  /** mesh.takeover_after, ms. */
  takeoverMs: number;
  /** The mesh key (at least 32 characters). */
  meshKey: string;
  /** defaults.restart_backoff, as YAML durations. */
  backoff: { initial: string; max: string };
  /** The restart command's timeout, a YAML duration. */
  restartTimeout: string;
  /** node.ledger_dir shared by every node (default DIR/ledger). */
  ledgerDir?: string;
  /** A top-level self_health YAML line (the tests' loose limits). */
  selfHealthYaml: string;
  /**
   * Each node's own address, when the nodes run in network namespaces of their own (then
   * every node listens on ADDRESS:9760, with an api_token and public reads); default: a
   * free loopback port each.
   */
  addresses?: readonly string[];
}

/** The API token of nodes on namespace addresses (their reads are public). */
const LAB_TOKEN = "slow-restart-mesh-api-token-0123456789";

/** Writes the nodes' configs; returns their ports and base URLs. */
export async function writeSlowRestartMesh(
  o: SlowRestartMeshOptions,
): Promise<{ ports: number[]; url: (i: number) => string }> {
  const lab = o.addresses;
  const ports = lab ? lab.map(() => 9760) : await freePorts(o.names.length);
  const host = (i: number) => lab?.[i] ?? "127.0.0.1";
  const url = (i: number) => `http://${host(i)}:${ports[i]}`;
  const labYaml = lab ? `, api_token: "${LAB_TOKEN}", public_reads: true` : "";
  const script =
    'echo "start $1 $WDMESH_EFFECT_ID $(date +%s%3N) $$" >> "$2"; ' +
    `sleep ${o.restartS}; ` +
    'echo "end $1 $WDMESH_EFFECT_ID $(date +%s%3N) $$" >> "$2"';
  const ledgerDir = o.ledgerDir ?? join(o.dir, "ledger");
  for (const [i, name] of o.names.entries()) {
    const argv = JSON.stringify(["/bin/sh", "-c", script, "sh", name, o.log]);
    const members = o.names.flatMap((m, j) => (j === i ? [] : [`    - { name: ${m}, url: "${url(j)}" }`]));
    writeFileSync(
      join(o.dir, `${name}.yaml`),
      `node: { name: ${name}, listen: "${host(i)}:${ports[i]}", data_dir: "${join(o.dir, name)}", ledger_dir: "${ledgerDir}"${labYaml} }
defaults:
  interval: ${o.intervalMs}ms
  timeout: 300ms
  retry_interval: ${o.intervalMs}ms
  missed_before_restart: 2
  restarts_before_isolate: 10
  startup_grace: ${o.intervalMs}ms
  restart_backoff: { initial: ${o.backoff.initial}, max: ${o.backoff.max} }
  stable_after: 10m
peers:
  - name: agent
    probe: { http: { url: "${o.agentUrl}/health/${name}" } }
    restart: { command: { argv: ${argv}, timeout: ${o.restartTimeout} } }
    isolate: none
mesh:
  key: "${o.meshKey}"
  confirm: majority
  takeover_after: ${o.takeoverMs}ms
  members:
${members.join("\n")}
${o.selfHealthYaml}
`,
    );
  }
  return { ports, url };
}

/** One line of the restart log: a restart started or ended (the target's side). */
export interface RestartLine {
  kind: "start" | "end";
  node: string;
  effect: string;
  /** Epoch ms. */
  at: number;
  /** The restart command's pid (the leader of its process group). */
  pid: number;
}

/** The restart log's complete lines so far (none when it does not exist yet). */
export function readRestartLog(log: string): RestartLine[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.split(" ").length === 5)
    .map((l) => {
      const [kind, node, effect, at, pid] = l.split(" ");
      return { kind, node, effect, at: Number(at), pid: Number(pid) } as RestartLine;
    });
}

/**
 * Kills every restart command that started and never ended: it runs in its own process
 * group and outlives a node killed mid-restart.
 */
export function killUnfinishedRestarts(lines: RestartLine[]): void {
  for (const s of lines)
    if (s.kind === "start" && !lines.some((l) => l.kind === "end" && l.pid === s.pid))
      try {
        process.kill(-s.pid, "SIGKILL");
      } catch {
        // already gone
      }
}

/** GETs a node's JSON answer (throws on any failure). */
export type GetJson = (url: string) => Promise<unknown>;

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON */
async function getJson(url: string): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

/** A node's view of the agent (GET /v1/peers/agent): its status and restarts counted. */
export function agentOf(
  url: string,
  get: GetJson = getJson,
): Promise<{ status: string; restart_count: number }> {
  return get(`${url}/v1/peers/agent`) as Promise<{ status: string; restart_count: number }>;
}

/**
 * Whether every node (base URLs) sees each of the others as a settled member and the
 * agent HEALTHY; throws when a node does not answer (wait with retryErrors). `get` reads
 * a node (default: fetch from this process).
 */
export async function meshAndAgentSettled(
  urls: string[],
  intervalMs: number,
  get: GetJson = getJson,
): Promise<boolean> {
  for (const u of urls) {
    if (!membersSettled(await get(`${u}/v1/mesh`), urls.length - 1, intervalMs)) return false;
    if ((await agentOf(u, get)).status !== "HEALTHY") return false;
  }
  return true;
}

/** The end of a failure that began at `start` (epoch ms): the first restart end at or after it. */
export function healedAt(start: number, lines: readonly RestartLine[]): number | undefined {
  return lines.find((l) => l.kind === "end" && l.at >= start)?.at;
}
