// `wdmesh demo --containers`: the node watching real containers through a Docker or
// Podman engine, scripted from start to end:
//   1. two containers labelled for this run on a network of their own: demo-killed (no
//      HEALTHCHECK: alive while running) and demo-unhealthy (HEALTHCHECK: healthy while
//      /state/ok exists), found by the node through `peers_from` (discovery by label);
//   2. once both are HEALTHY, demo-killed is killed (SIGKILL) and demo-unhealthy's check
//      starts failing for good;
//   3. the node restarts demo-killed (it comes back: recovered) and restarts
//      demo-unhealthy once, then isolates it: disconnected from its network, verified by
//      the engine and a canary connection to its former address;
//   4. every alert arrives at a signed-webhook receiver that verifies it; then the node
//      stops and the demo's containers, network and image are removed.
// It ends once both outcomes are seen, or fails (after cleaning up) when they are not
// seen within `durationMs`.
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { MeshView } from "../api/backend.js";
import { parseConfig } from "../config/load.js";
import type { JournalEntry } from "../store/types.js";
import { runDaemon, type DaemonHandle } from "../daemon.js";
import { DEMO_DEFAULTS } from "../core/defaults.js";
import {
  DemoError,
  findEngine,
  importSkeleton,
  must,
  removeAll,
  runContainer,
  type FoundEngine,
} from "./demo-engine.js";
import { startReceiver } from "./run-demo.js";

export interface ContainerDemoOptions {
  /** Where the node serves its API and dashboard. */
  listen: { host: string; port: number };
  /** The engine's socket; undefined: DOCKER_HOST, then Docker's and Podman's default sockets. */
  socket?: string;
  /** An image the user has (needs /bin/sh and test); undefined: a skeleton imported for the run. */
  image?: string;
  /** Extra HostConfig fields for the demo's containers (constrained hosts). */
  hostConfig: Record<string, unknown>;
  /** The outcomes must be seen within this long, ms. */
  durationMs: number;
  /** Print the node's peers this often, ms. */
  statusEveryMs: number;
  keep: boolean;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  command?: string;
  out(text: string): void;
  table(view: MeshView): string;
}

const KILLED = "demo-killed";
const UNHEALTHY = "demo-unhealthy";

function nodeYaml(o: {
  listen: string;
  dataDir: string;
  token: string;
  engine: FoundEngine;
  label: string;
  receiver: string;
  secret: string;
}): string {
  return `node:
  name: wd-containers
  listen: "${o.listen}"
  data_dir: "${o.dataDir}"
  api_token: "${o.token}"
defaults:
  interval: 2s
  timeout: 1500ms
  retry_interval: 1s
  missed_before_restart: 2
  restarts_before_isolate: 1
  startup_grace: 3s
  restart_backoff: { initial: 1s, max: 2s }
  stable_after: 5s
peers_from:
  containers: { engine: ${o.engine.engine}, socket: "${o.engine.socket}", label: "${o.label}" }
alerts:
  - name: demo-receiver
    min_severity: MEDIUM
    webhook: { url: "${o.receiver}", secret: "${o.secret}", format: generic }
`;
}

/** Resolves true once `check` holds, false when `deadline` (epoch ms) passes or `signal` aborts. */
async function waitUntil(check: () => boolean, deadline: number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted && Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}

export async function runContainerDemo(o: ContainerDemoOptions): Promise<void> {
  const engine = await findEngine(o.socket, o.env);
  const run = randomBytes(3).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "wdmesh-demo-containers-"));
  const token = randomBytes(16).toString("hex");
  const secret = randomBytes(16).toString("hex");
  const receiver = await startReceiver(secret, o.out);
  const made: { containers: string[]; network?: string; image?: string } = { containers: [] };
  const timers: NodeJS.Timeout[] = [];
  let node: DaemonHandle | undefined;
  const deadline = Date.now() + o.durationMs;
  try {
    o.out(`\nwatchdog-mesh container demo — ${engine.version} on ${engine.socket}\n`);
    const image = o.image ?? (made.image = await importSkeleton(engine, dir, "wdmesh-demo-rootfs", run));
    const network = `wdmesh-demo-${run}`;
    await must(engine, `creating network ${network}`, "POST", "/networks/create", {
      Name: network,
      Driver: "bridge",
      Labels: { "wdmesh.demo": run },
    });
    made.network = network;
    const label = `wdmesh.demo=${run}`;
    const states: Record<string, string> = {};
    for (const peer of [KILLED, UNHEALTHY]) {
      const name = `wdmesh-${peer}-${run}`;
      const stateDir = join(dir, "state", peer);
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, "ok"), "ok\n");
      states[peer] = stateDir;
      made.containers.push(name);
      await runContainer(engine, {
        name,
        image,
        hostUsr: o.image === undefined,
        network,
        stateDir,
        healthcheck: peer === UNHEALTHY,
        hostConfig: o.hostConfig,
        labels: { "wdmesh.demo": run, "wdmesh.name": peer, "wdmesh.stop_timeout": "2s" },
      });
    }
    const config = parseConfig(
      nodeYaml({
        listen: `${o.listen.host}:${o.listen.port}`,
        dataDir: join(dir, "node"),
        token,
        engine,
        label,
        receiver: receiver.url,
        secret,
      }),
      {},
      "demo:containers",
    );
    const logger = pino({ base: { node: "wd-containers" } }, createWriteStream(join(dir, "node.log")));
    node = await runDaemon(config, { logger });
    const n = node;
    const url = `http://${o.listen.host}:${o.listen.port}`;
    const wd = o.command ?? "wdmesh";
    o.out(
      [
        `  dashboard        ${url}/`,
        `  containers       ${made.containers.join(", ")} (label ${label}, network ${network})`,
        `  image            ${image}${made.image ? " (a skeleton root filesystem with the host's /usr, read-only)" : ""}`,
        `  state and logs   ${dir}`,
        `  in another terminal: ${wd} status --url ${url}`,
        "",
        "Alerts below arrive at a signed-webhook receiver that verifies each signature. Ctrl-C stops the demo.",
        "",
      ].join("\n") + "\n",
    );
    const status = (name: string): string | undefined => n.monitor.getPeerStatus(name)?.status;
    timers.push(setInterval(() => o.out(`\n${o.table(n.monitor.mesh.meshDocument())}`), o.statusEveryMs));
    const healthy = await waitUntil(
      () => status(KILLED) === "HEALTHY" && status(UNHEALTHY) === "HEALTHY",
      Math.min(deadline, Date.now() + DEMO_DEFAULTS.containersHealthyWithinMs),
      o.signal,
    );
    if (o.signal.aborted) return;
    if (!healthy) {
      const health = (n.monitor.getPeerStatus(UNHEALTHY)?.last_error ?? "").includes("starting")
        ? "; the engine never ran the HEALTHCHECK (Podman runs it from systemd timers: without systemd, nothing runs it)"
        : "";
      throw new DemoError(
        "WDM_DEMO_OUTCOME",
        `the demo's containers did not both become HEALTHY (${KILLED}: ${status(KILLED) ?? "not found"}, ${UNHEALTHY}: ${status(UNHEALTHY) ?? "not found"})${health}`,
        "run again with --keep to read the node's log (node.log in the demo's directory)",
      );
    }
    await must(
      engine,
      `killing ${KILLED}`,
      "POST",
      `/containers/${made.containers[0] ?? ""}/kill?signal=KILL`,
    );
    o.out(`  demo: killed ${made.containers[0] ?? ""} with SIGKILL\n`);
    rmSync(join(states[UNHEALTHY] ?? dir, "ok"), { force: true });
    o.out(`  demo: ${made.containers[1] ?? ""}'s HEALTHCHECK fails from now on (removed /state/ok)\n`);

    const journal = (): JournalEntry[] => n.store.journal(0, 1000);
    const done = (peer: string, action: string): JournalEntry | undefined =>
      journal().find((e) => e.peer_name === peer && e.action === action && e.result?.ok === true);
    const outcomes = (): boolean =>
      done(KILLED, "restart") !== undefined &&
      journal().some((e) => e.peer_name === KILLED && e.action === "recovered") &&
      done(UNHEALTHY, "isolate") !== undefined;
    const seen = await waitUntil(outcomes, deadline, o.signal);
    if (o.signal.aborted) return;
    const restart = done(KILLED, "restart");
    const isolate = done(UNHEALTHY, "isolate");
    if (!seen) {
      throw new DemoError(
        "WDM_DEMO_OUTCOME",
        `within ${Math.round(o.durationMs / 1000)} s the node did not ${restart ? "" : `restart ${KILLED} and `}${isolate ? "" : `isolate ${UNHEALTHY}`}`.replace(
          / and $/,
          "",
        ),
        "give it longer with --for on a busy machine",
      );
    }
    // Let the last alerts reach the receiver before the summary.
    await waitUntil(() => false, Math.min(deadline, Date.now() + 2_000), o.signal);
    o.out(
      [
        "",
        "outcome:",
        `  ${KILLED} restarted: ${restart?.result?.detail ?? ""}`,
        `  ${UNHEALTHY} isolated: ${isolate?.result?.detail ?? ""}`,
        "",
        o.table(n.monitor.mesh.meshDocument()),
      ].join("\n") + "\n",
    );
  } finally {
    for (const t of timers) clearInterval(t);
    await node?.stop();
    const problems = await removeAll(engine, made);
    for (const p of problems) o.out(`  cleanup: could not remove ${p}\n`);
    if (problems.length === 0)
      o.out(`removed the demo's containers, network${made.image ? " and image" : ""}\n`);
    receiver.server.closeAllConnections();
    await new Promise<void>((r) => receiver.server.close(() => r()));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else o.out(`kept ${dir}\n`);
  }
}
