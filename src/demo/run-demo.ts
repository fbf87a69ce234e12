// `wdmesh demo`: a self-contained local mesh on loopback.
// - three stand-in agents (immune, sidecar, shield — shield is broken for good);
// - two watchdog nodes: wd-a watches the agents and wd-b, wd-b watches wd-a, each
//   proving its heartbeat with the mesh key;
// - remediation through commands (agent-ctl) instead of systemd, so it runs anywhere;
// - a signed-webhook receiver that verifies every alert it gets.
// Chaos: every `chaosEveryMs` the sidecar is killed with SIGKILL and the mesh brings it back.
// A round finds the sidecar still recovering from the last kill (slow machine) is skipped, so
// the demo always shows kill → restart → recovered and never a kill mid-restart.
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { verifySignature } from "../alert/signature.js";
import { parseConfig } from "../config/load.js";
import type { MeshView } from "../api/backend.js";
import type { EscalationAction } from "../core/types.js";
import { runDaemon, type DaemonHandle } from "../daemon.js";
import { killAgent, startAgent } from "./agent-ctl.js";

export interface DemoOptions {
  /** Where wd-a serves its API and dashboard. */
  listen: { host: string; port: number };
  /** Stop after this long, ms; undefined = until the signal. */
  durationMs?: number;
  /** Kill the sidecar this often (a round that finds it not HEALTHY yet is skipped), ms; 0 = never. */
  chaosEveryMs: number;
  /** Print the mesh this often, ms. */
  statusEveryMs: number;
  /** Keep the demo's data directory (state files, logs) after it stops. */
  keep: boolean;
  signal: AbortSignal;
  /** How the user types wdmesh in a shell ("wdmesh", or its full path from a checkout). Default "wdmesh". */
  command?: string;
  out(text: string): void;
  /** Renders a status table of peers. */
  /** The mesh as `wdmesh status` prints it. */
  table(view: MeshView): string;
}

interface Agent {
  name: string;
  port: number;
  mode: "ok" | "broken";
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Argv to run a sibling script with the same runtime (dist .js, or .ts under tsx). */
function sibling(name: string): string[] {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return [process.execPath, ...process.execArgv, fileURLToPath(new URL(`./${name}${ext}`, import.meta.url))];
}

export function describeAlert(a: EscalationAction): string {
  const result = a.result ? (a.result.ok ? " → ok" : ` → FAILED: ${a.result.error ?? ""}`) : "";
  return `${a.severity.padEnd(8)} ${a.action.padEnd(15)} ${a.peer_name}: ${a.reason}${result}`;
}

export async function startReceiver(
  secret: string,
  out: (s: string) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const ok = verifySignature(
        secret,
        String(req.headers["x-wdmesh-timestamp"] ?? ""),
        body,
        String(req.headers["x-wdmesh-signature"] ?? ""),
      );
      try {
        const a = JSON.parse(body) as EscalationAction;
        out(`  alert ${ok ? "(signature ok)" : "(BAD SIGNATURE)"} ${describeAlert(a)}\n`);
      } catch {
        out(`  alert receiver: unreadable body\n`);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, server };
}

function agentYaml(a: Agent, dir: string): string {
  const ctl = (verb: string, mode = a.mode): string =>
    JSON.stringify([
      ...sibling("agent-ctl"),
      verb,
      "--name",
      a.name,
      "--port",
      String(a.port),
      "--dir",
      dir,
      "--mode",
      mode,
    ]);
  return `  - name: ${a.name}
    probe: { http: { url: "http://127.0.0.1:${a.port}/health" } }
    restart: { command: { argv: ${ctl("restart")}, timeout: 10s } }
    isolate: { command: { argv: ${ctl("isolate")}, timeout: 10s }, release: { argv: ${ctl("release", "ok")}, timeout: 10s } }
`;
}

function nodeYaml(opts: {
  name: string;
  listen: string;
  dataDir: string;
  token: string;
  key: string;
  members: Array<{ name: string; url: string }>;
  agents: Agent[];
  dir: string;
  receiver: string;
  secret: string;
}): string {
  return `node:
  name: ${opts.name}
  listen: "${opts.listen}"
  data_dir: "${opts.dataDir}"
  api_token: "${opts.token}"
defaults:
  interval: 1s
  timeout: 500ms
  retry_interval: 1s
  missed_before_restart: 3
  restarts_before_isolate: 2
  startup_grace: 1s
  restart_backoff: { initial: 1s, max: 4s }
  stable_after: 10s
peers:
${opts.agents.length > 0 ? opts.agents.map((a) => agentYaml(a, opts.dir)).join("") : "  []\n"}mesh:
  key: "${opts.key}"
  confirm: any
  members:
${opts.members.map((m) => `    - { name: ${m.name}, url: "${m.url}" }`).join("\n")}
alerts:
  - name: demo-receiver
    min_severity: MEDIUM
    webhook: { url: "${opts.receiver}", secret: "${opts.secret}", format: generic }
`;
}

/** Runs the demo until `signal` aborts or `durationMs` passes; cleans up everything it started. */
export async function runDemo(o: DemoOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wdmesh-demo-"));
  const token = randomBytes(16).toString("hex");
  const key = randomBytes(32).toString("hex");
  const secret = randomBytes(16).toString("hex");
  const agents: Agent[] = [
    { name: "immune", port: await freePort(), mode: "ok" },
    { name: "sidecar", port: await freePort(), mode: "ok" },
    { name: "shield", port: await freePort(), mode: "broken" },
  ];
  const bPort = await freePort();
  const aUrl = `http://${o.listen.host}:${o.listen.port}`;
  const bUrl = `http://127.0.0.1:${bPort}`;
  const nodes: DaemonHandle[] = [];
  const timers: NodeJS.Timeout[] = [];
  const receiver = await startReceiver(secret, o.out);
  try {
    for (const a of agents) startAgent(dir, a.name, a.port, a.mode);
    const common = { token, key, dir, receiver: receiver.url, secret };
    const specs = [
      {
        name: "wd-a",
        listen: `${o.listen.host}:${o.listen.port}`,
        members: [{ name: "wd-b", url: bUrl }],
        agents,
      },
      { name: "wd-b", listen: `127.0.0.1:${bPort}`, members: [{ name: "wd-a", url: aUrl }], agents: [] },
    ];
    for (const s of specs) {
      const dataDir = join(dir, s.name);
      const config = parseConfig(nodeYaml({ ...common, ...s, dataDir }), {}, `demo:${s.name}`);
      const logger = pino({ base: { node: s.name } }, createWriteStream(join(dir, `${s.name}.log`)));
      nodes.push(await runDaemon(config, { logger }));
    }
    const wd = o.command ?? "wdmesh";
    o.out(
      [
        "",
        "watchdog-mesh demo — a local mesh on loopback",
        `  dashboard        ${aUrl}/`,
        `  watchdog wd-a    ${aUrl}   (watches immune, sidecar, shield and wd-b)`,
        `  watchdog wd-b    ${bUrl}   (watches wd-a; heartbeats are proven with the mesh key)`,
        `  agents           ${agents.map((a) => `${a.name}:${a.port}${a.mode === "broken" ? " (broken)" : ""}`).join("  ")}`,
        `  state and logs   ${dir}`,
        "",
        "Try, in another terminal:",
        `  ${wd} status --url ${aUrl}`,
        `  ${wd} events --url ${aUrl} --follow`,
        `  WDMESH_API_TOKEN=${token} ${wd} release shield --url ${aUrl}`,
        "",
        o.chaosEveryMs > 0
          ? `Chaos: sidecar is killed with SIGKILL every ${Math.round(o.chaosEveryMs / 1000)} s once it is healthy again; shield never recovers and gets isolated.`
          : "Chaos is off; shield never recovers and gets isolated.",
        "Alerts below arrive at a signed-webhook receiver that verifies each signature. Ctrl-C stops the demo.",
        "",
      ].join("\n") + "\n",
    );
    const wdA = nodes[0] as DaemonHandle;
    timers.push(
      setInterval(
        () => o.out(`\n${new Date().toISOString()}\n${o.table(wdA.monitor.mesh.meshDocument())}`),
        o.statusEveryMs,
      ),
    );
    if (o.chaosEveryMs > 0) {
      timers.push(
        setInterval(() => {
          const sidecar = wdA.monitor.allPeers().find((p) => p.name === "sidecar");
          if (sidecar?.status !== "HEALTHY") {
            o.out(`  chaos: sidecar is ${sidecar?.status ?? "unknown"}, not killed this round\n`);
            return;
          }
          if (killAgent(dir, "sidecar")) o.out("  chaos: killed sidecar with SIGKILL\n");
        }, o.chaosEveryMs),
      );
    }
    await new Promise<void>((resolve) => {
      if (o.signal.aborted) return resolve();
      o.signal.addEventListener("abort", () => resolve(), { once: true });
      if (o.durationMs !== undefined) timers.push(setTimeout(resolve, o.durationMs));
    });
    o.out(`\nfinal state:\n${o.table(wdA.monitor.mesh.meshDocument())}`);
  } finally {
    for (const t of timers) clearInterval(t);
    for (const n of nodes.reverse()) await n.stop();
    for (const a of agents) killAgent(dir, a.name);
    receiver.server.closeAllConnections();
    await new Promise<void>((r) => receiver.server.close(() => r()));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else o.out(`kept ${dir}\n`);
  }
}
