// The command table, top-level help and dispatch. Returns an exit code; never exits.
import { reloadCommand } from "./commands/reload.js";
import { fleetCommand } from "./commands/fleet.js";
import { readFileSync } from "node:fs";
import { WatchdogError } from "../core/errors.js";
import { CliError, closest, EXIT, UsageError } from "./cli-error.js";
import { commandHelp, parseCommandArgs, type CliIO, type Command } from "./command.js";
import { alertsCommand } from "./commands/alerts.js";
import { runCommand, schemaCommand, validateCommand } from "./commands/config-commands.js";
import { demoCommand } from "./commands/demo.js";
import { checkCommand, releaseCommand, restartCommand, silenceCommand } from "./commands/control.js";
import { eventsCommand } from "./commands/events.js";
import { keygenCommand } from "./commands/keygen.js";
import { statusCommand } from "./commands/status.js";
import { NODE_DEFAULTS } from "../core/defaults.js";

export const COMMANDS: readonly Command[] = [
  runCommand,
  validateCommand,
  statusCommand,
  releaseCommand,
  silenceCommand,
  restartCommand,
  checkCommand,
  reloadCommand,
  eventsCommand,
  alertsCommand,
  schemaCommand,
  keygenCommand,
  demoCommand,
  fleetCommand,
];

function version(): string {
  try {
    // src/cli/ and dist/cli/ are both two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "wdmesh — a watchdog mesh for Linux service agents",
    "",
    "Usage: wdmesh COMMAND [options]      (wdmesh COMMAND --help for its options)",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Environment: WDMESH_URL (API base URL, default http://${NODE_DEFAULTS.listen}), WDMESH_API_TOKEN (bearer token).`,
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 3 unhealthy (status, check).",
    "",
    "Example:",
    "  wdmesh validate --config mesh.yaml && wdmesh run --config mesh.yaml",
    "",
  ].join("\n");
}

function report(err: unknown, io: CliIO): number {
  if (err instanceof CliError) {
    io.err(`wdmesh: ${err.message}\n`);
    if (err.hint) io.err(`  hint: ${err.hint}\n`);
    return err.exitCode;
  }
  if (err instanceof WatchdogError) {
    io.err(`wdmesh: ${err.message} [${err.code}]\n`);
    return err.code === "WDM_CONFIG" ? EXIT.USAGE : EXIT.FAILURE;
  }
  const e = err as Error;
  io.err(`wdmesh: unexpected error: ${e?.message ?? String(err)}\n`);
  if (io.env.WDMESH_DEBUG && e?.stack) io.err(`${e.stack}\n`);
  return EXIT.FAILURE;
}

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const target = first === "help" ? rest[0] : undefined;
    const cmd = target === undefined ? undefined : COMMANDS.find((c) => c.name === target);
    if (target !== undefined && !cmd)
      return report(new UsageError(`unknown command "${target}"`, 'see "wdmesh --help"'), io);
    io.out(cmd ? commandHelp(cmd) : topHelp());
    // No command at all is a usage error (help still printed).
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === "--version" || first === "-V") {
    io.out(`wdmesh ${version()}\n`);
    return EXIT.OK;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    const guess = first.startsWith("-")
      ? undefined
      : closest(
          first,
          COMMANDS.map((c) => c.name),
        );
    const what = first.startsWith("-")
      ? `unknown option ${first} (options go after the command)`
      : `unknown command "${first}"`;
    return report(
      new UsageError(
        what,
        guess ? `did you mean "wdmesh ${guess}"? see "wdmesh --help"` : 'see "wdmesh --help"',
      ),
      io,
    );
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help === true) {
      io.out(commandHelp(cmd));
      return EXIT.OK;
    }
    return await cmd.run(args, io);
  } catch (err) {
    return report(err, io);
  }
}
