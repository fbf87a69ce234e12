// wdmesh demo: a self-contained local mesh with a dashboard (what `npm start` runs).
import { formatDuration, parseDuration } from "../../core/duration.js";
import { parseListen } from "../../config/rules.js";
import { CliError, EXIT, UsageError } from "../cli-error.js";
import { flag, positionals, str, type Command } from "../command.js";
import { selfCommand } from "../self-command.js";
import { meshText } from "./status.js";
import { DEMO_DEFAULTS, NODE_DEFAULTS } from "../../core/defaults.js";

/** The option's duration in ms, or `fallback` when it is not given. */
function duration(value: string | undefined, option: string, fallback: number): number;
function duration(value: string | undefined, option: string, fallback: undefined): number | undefined;
function duration(
  value: string | undefined,
  option: string,
  fallback: number | undefined,
): number | undefined {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value, option);
  } catch {
    throw new UsageError(
      `--${option} ${JSON.stringify(value)} is not a duration`,
      'use e.g. "30s", "5m" or 0',
    );
  }
}

function hostConfigOf(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new UsageError(
      `--host-config ${JSON.stringify(text)} is not a JSON object`,
      `e.g. --host-config '{"Privileged":true,"PidsLimit":0}'`,
    );
  }
  return v as Record<string, unknown>;
}

async function runContainers(
  args: Parameters<Command["run"]>[0],
  io: Parameters<Command["run"]>[1],
  listen: { host: string; port: number },
): Promise<number> {
  if (str(args, "chaos-every") !== undefined) {
    throw new UsageError("--chaos-every does not go with --containers (each container is broken once)");
  }
  const hostConfig = hostConfigOf(str(args, "host-config"));
  const { runContainerDemo } = await import("../../demo/container-demo.js");
  const { DemoError } = await import("../../demo/demo-engine.js");
  const socket = str(args, "socket");
  const image = str(args, "image");
  try {
    await runContainerDemo({
      listen,
      ...(socket !== undefined ? { socket } : {}),
      ...(image !== undefined ? { image } : {}),
      hostConfig,
      durationMs: duration(str(args, "for"), "for", DEMO_DEFAULTS.containersForMs),
      statusEveryMs: Math.max(
        500,
        duration(str(args, "status-every"), "status-every", DEMO_DEFAULTS.statusEveryMs),
      ),
      keep: flag(args, "keep"),
      signal: io.signal,
      env: io.env,
      out: io.out,
      table: (view) => meshText(view, Date.now()),
      command: selfCommand(process.argv[1], io.env.PATH),
    });
  } catch (err) {
    if (err instanceof DemoError) throw new CliError(EXIT.FAILURE, `${err.message} [${err.code}]`, err.hint);
    throw err;
  }
  return EXIT.OK;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "a self-contained local mesh with a dashboard: agents, two watchdogs, alerts",
  usage:
    "wdmesh demo [--listen HOST:PORT] [--for DURATION] [--chaos-every DURATION] [--status-every DURATION] [--keep]\n" +
    "       wdmesh demo --containers [--socket PATH] [--image IMAGE] [--host-config JSON] [--listen HOST:PORT] [--for DURATION] [--keep]",
  details:
    "Starts three stand-in agents (one broken for good), two watchdog nodes that watch the agents and\n" +
    "each other, and a signed-webhook receiver, all on loopback. Every few seconds it kills an agent\n" +
    "so you can watch the mesh restart it; the broken agent is restarted, then isolated.\n\n" +
    "With --containers it watches real containers through a Docker or Podman engine (DOCKER_HOST,\n" +
    "/var/run/docker.sock, /run/podman/podman.sock, or --socket): it runs two labelled containers, kills\n" +
    "one and makes the other's HEALTHCHECK fail, and shows the node restarting the first and isolating\n" +
    "the second (verified by a canary), every alert signed; then it removes its containers, network and\n" +
    "image. No image is pulled: without --image it imports a skeleton whose /usr is the host's, read-only.\n" +
    "Needs access to the engine's socket, which is root on the host.",
  options: [
    {
      name: "listen",
      type: "string",
      arg: "HOST:PORT",
      help: `where the dashboard and API listen (default ${NODE_DEFAULTS.listen})`,
    },
    { name: "for", type: "string", arg: "DURATION", help: "stop after this long (default: until Ctrl-C)" },
    {
      name: "chaos-every",
      type: "string",
      arg: "DURATION",
      help: `kill the sidecar agent this often, once it is healthy again (default ${formatDuration(DEMO_DEFAULTS.chaosEveryMs)}; 0 = never)`,
    },
    {
      name: "status-every",
      type: "string",
      arg: "DURATION",
      help: `print the mesh this often (default ${formatDuration(DEMO_DEFAULTS.statusEveryMs)})`,
    },
    { name: "keep", type: "boolean", help: "keep the demo's state files and logs" },
    { name: "containers", type: "boolean", help: "watch real containers through a Docker or Podman engine" },
    {
      name: "socket",
      type: "string",
      arg: "PATH",
      help: "--containers: the engine's unix socket (default: DOCKER_HOST, then /var/run/docker.sock, then /run/podman/podman.sock)",
    },
    {
      name: "image",
      type: "string",
      arg: "IMAGE",
      help: "--containers: an image you have (with /bin/sh and test) instead of a skeleton of the host's /usr",
    },
    {
      name: "host-config",
      type: "string",
      arg: "JSON",
      help: `--containers, for constrained hosts only: extra HostConfig fields for the demo's containers, e.g. '{"Privileged":true,"PidsLimit":0}' where the engine cannot set rlimits or a pids cgroup`,
    },
  ],
  examples: [
    "wdmesh demo",
    "wdmesh demo --listen 127.0.0.1:8080 --for 2m",
    "sudo wdmesh demo --containers",
    "sudo wdmesh demo --containers --socket /run/podman/podman.sock",
  ],
  async run(args, io) {
    positionals(this, args, []);
    const listenText = str(args, "listen") ?? NODE_DEFAULTS.listen;
    const listen = parseListen(listenText);
    if (!listen)
      throw new UsageError(
        `--listen ${JSON.stringify(listenText)} is not HOST:PORT`,
        `e.g. --listen ${NODE_DEFAULTS.listen}`,
      );
    if (flag(args, "containers")) return runContainers(args, io, listen);
    for (const o of ["socket", "image", "host-config"]) {
      if (str(args, o) !== undefined) throw new UsageError(`--${o} goes with --containers`);
    }
    const { runDemo } = await import("../../demo/run-demo.js");
    await runDemo({
      listen,
      durationMs: duration(str(args, "for"), "for", undefined),
      chaosEveryMs: duration(str(args, "chaos-every"), "chaos-every", DEMO_DEFAULTS.chaosEveryMs),
      statusEveryMs: Math.max(
        500,
        duration(str(args, "status-every"), "status-every", DEMO_DEFAULTS.statusEveryMs),
      ),
      keep: flag(args, "keep"),
      signal: io.signal,
      out: io.out,
      table: (view) => meshText(view, Date.now()),
      command: selfCommand(process.argv[1], io.env.PATH),
    });
    return EXIT.OK;
  },
};
