// wdmesh demo: a self-contained local mesh with a dashboard (what `npm start` runs).
import { formatDuration, parseDuration } from "../../core/duration.js";
import { parseListen } from "../../config/rules.js";
import { EXIT, UsageError } from "../cli-error.js";
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

export const demoCommand: Command = {
  name: "demo",
  summary: "a self-contained local mesh with a dashboard: agents, two watchdogs, alerts",
  usage:
    "wdmesh demo [--listen HOST:PORT] [--for DURATION] [--chaos-every DURATION] [--status-every DURATION] [--keep]",
  details:
    "Starts three stand-in agents (one broken for good), two watchdog nodes that watch the agents and\n" +
    "each other, and a signed-webhook receiver, all on loopback. Every few seconds it kills an agent\n" +
    "so you can watch the mesh restart it; the broken agent is restarted, then isolated.",
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
  ],
  examples: ["wdmesh demo", "wdmesh demo --listen 127.0.0.1:8080 --for 2m"],
  async run(args, io) {
    positionals(this, args, []);
    const listenText = str(args, "listen") ?? NODE_DEFAULTS.listen;
    const listen = parseListen(listenText);
    if (!listen)
      throw new UsageError(
        `--listen ${JSON.stringify(listenText)} is not HOST:PORT`,
        `e.g. --listen ${NODE_DEFAULTS.listen}`,
      );
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
