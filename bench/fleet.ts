// A fleet of hosts on etcd, measured: --hosts hosts, each a network namespace on one bridge
// with a `wdmesh run` daemon and --agents agents (HTTP health endpoints), coordinated by a
// real 3-member etcd (three more namespaces); every alert goes to one webhook receiver (a
// namespace of its own). Each node watches its own host's agents and those of the two
// neighbouring hosts, so every agent has three observers and a quorum of two.
//   1. steady state for --seconds: etcd writes per node per second (from etcd's /metrics:
//      proposals committed + lease renewals), CPU and RSS per node;
//   2. --kills agents on distinct random hosts fail (503) at once: restarts per kill (goal 1),
//      kill → restart p50/p99, webhook messages per incident (all nodes together);
//   3. --cuts hosts lose their link (the node, its agents and its lease with them):
//      host_unreachable messages and fence runs per host (goal 1 each), restarts of and
//      alerts about the cut hosts' agents;
//   4. the same daemons, peers and agents as a built-in mesh (views between all members, no
//      etcd): CPU and RSS per node in steady state for --seconds.
// Prints one JSON object; never passes or fails on time. Needs root (ip netns), etcd-server
// and a built dist/ (npm run build).
//   node --import tsx bench/fleet.ts [--hosts 100] [--agents 5] [--kills 10] [--cuts 3] [--seconds 30] [--seed 1] [--interval 1000 (ms)]
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CLI } from "../test/helpers/built-cli.js";
import { EtcdCluster } from "../test/helpers/etcd-cluster.js";
import { lines } from "../test/helpers/file-lines.js";
import { createLab, type Host, type Lab } from "../test/helpers/netns.js";
import { fileTempDir } from "../test/helpers/tmp-dir.js";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "100" },
    agents: { type: "string", default: "5" },
    kills: { type: "string", default: "10" },
    cuts: { type: "string", default: "3" },
    seconds: { type: "string", default: "30" },
    seed: { type: "string", default: "1" },
    interval: { type: "string", default: "1000" },
  },
});
const H = Number(values.hosts);
const A = Number(values.agents);
const KILLS = Number(values.kills);
const CUTS = Number(values.cuts);
const SECONDS = Number(values.seconds);
if (!(H >= 4 && H <= 240)) throw new Error("--hosts: between 4 and 240");
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

const INTERVAL_MS = Number(values.interval);
const AGENT_PORT = 8_000;
const NODE_PORT = 9_760;
const TOKEN = "bench-token-0123456789abcdef";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let rngState = Number(values.seed) >>> 0 || 1;
const rand = (n: number): number => {
  rngState = (Math.imul(rngState, 1_103_515_245) + 12_345) >>> 0;
  return rngState % n;
};
const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? null;
};
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

const dir = fileTempDir("wdmesh-bench-fleet-");
const deadDir = join(dir, "dead");
mkdirSync(deadDir);
const restartLog = join(dir, "restarts.log");
const fenceLog = join(dir, "fences.log");
const alertLog = join(dir, "alerts.log");
const pagerLog = join(dir, "pagerduty.log");
const hostNames = Array.from({ length: H }, (_, i) => `h${i}`);
const agentName = (h: number, k: number): string => `h${h}-a${k}`;
/** The hosts whose agents host i's node watches: its own and its two neighbours. */
const watched = (i: number): number[] => [i, (i + 1) % H, (i + H - 1) % H];

/** Waits until `child` prints `marker`, or fails after `ms`. */
function ready(child: ChildProcess, marker: string, what: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`${what}: not ready after ${ms} ms: ${out}`)), ms);
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (out.includes(marker)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    child.once("exit", (c) => reject(new Error(`${what} exited with ${c}: ${out}`)));
  });
}

function nodeConfig(lab: Lab, i: number, etcd: EtcdCluster | null, alertsIp: string): string {
  const host = lab.host(`h${i}`);
  const peers = watched(i).flatMap((h) =>
    Array.from({ length: A }, (_, k) => {
      const name = agentName(h, k + 1);
      const script = `echo "$(date +%s%3N) $WDMESH_PEER n${i} $WDMESH_FENCING_TOKEN" >> ${restartLog}; rm -f ${join(deadDir, name)}`;
      return [
        `  - name: ${name}`,
        `    host: h${h}`,
        `    probe: { http: { url: "http://${lab.host(`h${h}`).ip}:${AGENT_PORT + k + 1}/health" } }`,
        `    restart: { command: { argv: ${JSON.stringify(["/bin/sh", "-c", script])} } }`,
        "    isolate: none",
      ].join("\n");
    }),
  );
  const coordination = etcd
    ? [
        "coordination:",
        `  etcd: { endpoints: [${etcd.endpoints.join(", ")}], prefix: /wdmesh-bench }`,
        "hosts:",
        ...hostNames.map(
          (h) =>
            `  - { name: ${h}, fence: { command: { argv: ${JSON.stringify(["/bin/sh", "-c", `echo "$(date +%s%3N) $WDMESH_PEER n${i} $WDMESH_FENCING_TOKEN" >> ${fenceLog}`])} } } }`,
        ),
      ]
    : [
        "mesh:",
        "  key: bench-mesh-key-0123456789abcdef",
        "  confirm: majority",
        "  members:",
        ...hostNames.flatMap((_, j) =>
          j === i ? [] : [`    - { name: n${j}, url: "http://${lab.host(`h${j}`).ip}:${NODE_PORT}" }`],
        ),
      ];
  const f = join(dir, `n${i}-${etcd ? "fleet" : "mesh"}.yaml`);
  writeFileSync(
    f,
    [
      `node: { name: n${i}, host: h${i}, listen: "${host.ip}:${NODE_PORT}", data_dir: "${join(dir, `data-n${i}-${etcd ? "f" : "m"}`)}", ledger_dir: "${join(dir, `ledger-h${i}`)}", api_token: ${TOKEN}, public_reads: true }`,
      `defaults: { interval: ${INTERVAL_MS}ms, timeout: ${Math.min(2_000, Math.round(INTERVAL_MS * 0.8))}ms, missed_before_restart: 2, restarts_before_isolate: 10 }`,
      "peers:",
      ...peers,
      ...coordination,
      "alerts:",
      `  - { name: hook, webhook: { url: "http://${alertsIp}:9000/" }, min_severity: INFO }`,
      `  - { name: pager, pagerduty: { routing_key: bench, url: "http://${alertsIp}:9001/" }, min_severity: INFO }`,
      "",
    ].join("\n"),
  );
  return f;
}

/** utime + stime of `pid`, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}

/** CPU (% of one core) and RSS per node over `seconds` of steady state. */
async function nodeCost(nodes: ChildProcess[], seconds: number): Promise<Record<string, number | null>> {
  const pids = nodes.map((n) => n.pid as number);
  const before = pids.map(cpuSeconds);
  await sleep(seconds * 1000);
  const cpu = pids.map((p, i) => ((cpuSeconds(p) - (before[i] as number)) / seconds) * 100);
  const rss = pids.map(rssMb);
  return {
    cpu_percent_per_node_p50: round(pct(cpu, 50) ?? 0, 2),
    cpu_percent_per_node_max: round(Math.max(...cpu), 2),
    cpu_percent_all_nodes: round(
      cpu.reduce((a, b) => a + b, 0),
      1,
    ),
    rss_mb_per_node_p50: round(pct(rss, 50) ?? 0, 1),
    rss_mb_per_node_max: round(Math.max(...rss), 1),
  };
}

async function etcdCounters(
  hosts: Host[],
  etcd: EtcdCluster,
): Promise<{ proposals: number; keepalives: number }> {
  let proposals = 0;
  let keepalives = 0;
  for (const [i, m] of etcd.members.entries()) {
    // Only the lines needed: the whole page is longer than a bounded command's output.
    const r = await (hosts[i] as Host).run(
      [
        "sh",
        "-c",
        `curl -sf -m 5 ${m.clientUrl}/metrics | grep -E '^etcd_server_proposals_committed_total |LeaseKeepAlive'`,
      ],
      10_000,
    );
    for (const line of r.stdout.split("\n")) {
      if (line.startsWith("etcd_server_proposals_committed_total "))
        proposals = Math.max(proposals, Number(line.split(" ")[1]));
      // One message per renewal (the client keeps one stream open for all of them).
      if (line.startsWith("grpc_server_msg_received_total{") && line.includes('grpc_method="LeaseKeepAlive"'))
        keepalives += Number(line.split(" ")[1]);
    }
  }
  return { proposals, keepalives };
}

function startNodes(lab: Lab, files: string[]): ChildProcess[] {
  return files.map((f, i) => {
    const c = lab.host(`h${i}`).spawn([process.execPath, CLI, "run", "--config", f]);
    c.stdout?.resume();
    let err = "";
    c.stderr?.on("data", (b: Buffer) => (err = (err + b.toString()).slice(-2_000)));
    c.once("exit", (code) => {
      if (!stopping) process.stderr.write(`node n${i} exited (${code}): ${err}\n`);
    });
    return c;
  });
}

let stopping = false;
async function stopNodes(nodes: ChildProcess[]): Promise<void> {
  stopping = true;
  await Promise.all(
    nodes.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once("exit", () => r());
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
        }),
    ),
  );
}

async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await sleep(500);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

interface Alert {
  action: string;
  reason: string;
  peer_name: string;
  node: string;
  timestamp: string;
}
const alerts = (): Alert[] => lines(alertLog).map((l) => JSON.parse(l) as Alert);
interface PagerEvent {
  event_action: string;
  dedup_key: string;
  payload?: { component: string };
}
/** The PagerDuty incidents (distinct dedup keys of triggers) about the peers `about` picks. */
const pagerIncidents = (about: (component: string) => boolean): string[] => [
  ...new Set(
    lines(pagerLog)
      .map((l) => JSON.parse(l) as PagerEvent)
      .filter((e) => e.event_action === "trigger" && about(e.payload?.component ?? ""))
      .map((e) => e.dedup_key),
  ),
];
const countBy = (xs: string[]): Record<string, number> =>
  Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]));

const lab = await createLab([...hostNames, "e0", "e1", "e2", "alerts"], { subnet: 9 });
let etcd: EtcdCluster | undefined;
let nodes: ChildProcess[] = [];
const result: Record<string, unknown> = { hosts: H, agents_per_host: A, interval_ms: INTERVAL_MS };
try {
  const etcdHosts = ["e0", "e1", "e2"].map((n) => lab.host(n));
  etcd = await EtcdCluster.start(3, { hosts: etcdHosts });
  const receiver = new URL("./fixtures/alert-log.mjs", import.meta.url).pathname;
  const alertsIp = lab.host("alerts").ip;
  for (const [port, log] of [
    ["9000", alertLog],
    ["9001", pagerLog],
  ] as const) {
    await ready(
      lab.host("alerts").spawn([process.execPath, receiver, alertsIp, port, log]),
      "listening",
      "alert receiver",
    );
  }
  const agentScript = new URL("./fixtures/fleet-agents.mjs", import.meta.url).pathname;
  for (let i = 0; i < H; i += 10) {
    await Promise.all(
      hostNames.slice(i, i + 10).map((h) => {
        const c = lab
          .host(h)
          .spawn([process.execPath, agentScript, lab.host(h).ip, String(AGENT_PORT), String(A), h, deadDir]);
        return ready(c, "listening", `agents of ${h}`);
      }),
    );
  }
  const fleetFiles = hostNames.map((_, i) => nodeConfig(lab, i, etcd as EtcdCluster, alertsIp));
  const meshFiles = hostNames.map((_, i) => nodeConfig(lab, i, null, alertsIp));

  // 1. The fleet joins, then steady state.
  const t0 = Date.now();
  nodes = startNodes(lab, fleetFiles);
  const h0 = lab.host("h0");
  await until("every node a member of the fleet", 300_000, async () => {
    if (nodes.some((n) => n.exitCode !== null)) throw new Error("a node exited (above)");
    const f = (await h0.getJson(`http://${h0.ip}:${NODE_PORT}/v1/fleet`, 5_000)) as
      { members?: unknown[] } | undefined;
    return (f?.members?.length ?? 0) === H;
  });
  result.join_seconds = round((Date.now() - t0) / 1000, 1);
  await sleep(15_000); // first probes and observations published
  const e0 = await etcdCounters(etcdHosts, etcd);
  const cost = await nodeCost(nodes, SECONDS);
  const e1 = await etcdCounters(etcdHosts, etcd);
  const proposals = (e1.proposals - e0.proposals) / H / SECONDS;
  const keepalives = (e1.keepalives - e0.keepalives) / H / SECONDS;
  result.steady_state = {
    seconds: SECONDS,
    etcd_writes_per_node_per_s: round(proposals + keepalives, 4),
    etcd_proposals_per_node_per_s: round(proposals, 4),
    etcd_keepalives_per_node_per_s: round(keepalives, 4),
    fleet: cost,
  };

  // 2. Agents fail on distinct hosts, all at once.
  const cutHosts = Array.from({ length: CUTS }, (_, c) => Math.floor(((c + 0.5) * H) / CUTS));
  const killHosts = new Set<number>();
  while (killHosts.size < Math.min(KILLS, H - CUTS)) {
    const h = rand(H);
    if (!cutHosts.includes(h)) killHosts.add(h);
  }
  const killed = [...killHosts].map((h) => agentName(h, 1 + rand(A)));
  const killAt = Date.now();
  for (const a of killed) writeFileSync(join(deadDir, a), "");
  const restartsOf = (peer: string): number[] =>
    lines(restartLog)
      .map((l) => l.split(" "))
      .filter((f) => f[1] === peer)
      .map((f) => Number(f[0]));
  await until("every killed agent restarted", 120_000, () =>
    killed.every((a) => restartsOf(a).length > 0),
  ).catch(() => undefined);
  await sleep(15_000); // room for a duplicate
  const latencies = killed.flatMap((a) =>
    restartsOf(a)
      .slice(0, 1)
      .map((t) => t - killAt),
  );
  const perKill = killed.map((a) => restartsOf(a).length);
  const incidentAlerts = alerts().filter((x) => killed.includes(x.peer_name));
  const restartLines = lines(restartLog).map((l) => l.split(" "));
  result.kills = {
    killed: killed.length,
    restarts_per_kill: countBy(perKill.map(String)),
    restarted_by_own_host: restartLines.filter((f) => f[2] === `n${(f[1] ?? "").slice(1).split("-")[0]}`)
      .length,
    restarts_with_token: restartLines.filter((f) => (f[3] ?? "") !== "").length,
    restarts_of_healthy_agents: restartLines.filter((f) => !killed.includes(f[1] ?? "")).length,
    kill_to_restart_ms: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies) },
    webhook_messages_per_incident: round(incidentAlerts.length / killed.length, 2),
    webhook_messages_by_action: countBy(incidentAlerts.map((x) => x.action)),
    held_because: countBy(incidentAlerts.filter((x) => x.action === "remediation_held").map((x) => x.reason)),
    pagerduty_incidents_per_incident: round(
      killed.reduce((n, a) => n + pagerIncidents((c) => c === a).length, 0) / killed.length,
      2,
    ),
    webhook_senders_per_incident: round(
      killed.reduce(
        (s, a) => s + new Set(incidentAlerts.filter((x) => x.peer_name === a).map((x) => x.node)).size,
        0,
      ) / killed.length,
      2,
    ),
  };

  // 3. Hosts lose their link.
  const cutNames = cutHosts.map((h) => `h${h}`);
  const restartsBeforeCut = lines(restartLog).length;
  const alertsBeforeCut = alerts().length;
  const cutAt = Date.now();
  for (const h of cutNames) await lab.host(h).run(["ip", "link", "set", "eth0", "down"]);
  const hostDown = (): Alert[] => alerts().filter((x) => x.action === "host_unreachable");
  const fences = (): string[][] => lines(fenceLog).map((l) => l.split(" "));
  await until("a host_unreachable and a fence for every cut host", 180_000, () =>
    cutNames.every((h) => hostDown().some((x) => x.peer_name === h) && fences().some((f) => f[1] === h)),
  ).catch(() => undefined);
  const firstDown = Math.max(
    ...cutNames.map((h) => Date.parse(hostDown().find((x) => x.peer_name === h)?.timestamp ?? "") - cutAt),
  );
  await sleep(15_000);
  const afterCut = alerts().slice(alertsBeforeCut);
  const onCutHost = (peer: string): boolean => cutNames.some((h) => peer.startsWith(`${h}-`));
  result.cuts = {
    cut: cutNames,
    host_unreachable_per_host: countBy(hostDown().map((x) => x.peer_name)),
    fences_per_host: countBy(fences().map((f) => f[1] ?? "")),
    host_reachable_again: countBy(
      alerts()
        .filter((x) => x.action === "host_reachable")
        .map((x) => x.peer_name),
    ),
    cut_to_host_unreachable_ms_max: Number.isFinite(firstDown) ? firstDown : null,
    restarts_of_cut_hosts_agents: lines(restartLog)
      .slice(restartsBeforeCut)
      .filter((l) => onCutHost(l.split(" ")[1] ?? "")).length,
    pagerduty_incidents_per_cut_host: round(
      cutNames.reduce((n, h) => n + pagerIncidents((c) => c === h || c.startsWith(`${h}-`)).length, 0) /
        cutNames.length,
      2,
    ),
    webhook_messages_about_cut_hosts_agents: countBy(
      afterCut.filter((x) => onCutHost(x.peer_name)).map((x) => x.action),
    ),
  };
  for (const h of cutNames) await lab.host(h).run(["ip", "link", "set", "eth0", "up"]);
  await stopNodes(nodes);
  nodes = [];

  // 4. The same nodes as a built-in mesh.
  stopping = false;
  nodes = startNodes(lab, meshFiles);
  // Past the fleet's sizes the mesh may never settle here (every node asks every other for its
  // view each interval); its cost is measured all the same, and whether it settled is said.
  const settled = await until("the mesh's nodes answer", 120_000, async () => {
    const m = (await h0.getJson(`http://${h0.ip}:${NODE_PORT}/v1/mesh`, 5_000)) as
      { members?: unknown[] } | undefined;
    return (m?.members?.length ?? 0) >= H - 1;
  }).then(
    () => true,
    () => false,
  );
  await sleep(15_000);
  result.built_in_mesh = { answered_within_120_s: settled, ...(await nodeCost(nodes, SECONDS)) };
} catch (e) {
  result.error = e instanceof Error ? e.message : String(e);
} finally {
  await stopNodes(nodes);
  await etcd?.stopAll();
  await lab.destroy();
  spawnSync("rm", ["-rf", dir]);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
