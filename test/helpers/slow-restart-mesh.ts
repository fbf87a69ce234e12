// The configs of a daemon mesh that watches one agent and restarts it with a slow command:
// each node NAME gets DIR/NAME.yaml, and its restart command appends
// "start NODE EFFECT_ID MS PID" and, `restartS` seconds later, "end …" to one shared log
// (each line one small O_APPEND write). Used by the takeover, step-ledger and Jepsen tests.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
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
}

/** Writes the nodes' configs; returns their ports and base URLs. */
export async function writeSlowRestartMesh(
  o: SlowRestartMeshOptions,
): Promise<{ ports: number[]; url: (i: number) => string }> {
  const ports = await freePorts(o.names.length);
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
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
      `node: { name: ${name}, listen: "127.0.0.1:${ports[i]}", data_dir: "${join(o.dir, name)}", ledger_dir: "${ledgerDir}" }
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
