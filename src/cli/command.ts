// The shape of a CLI command, its options, and argument parsing (node:util parseArgs).
import { parseArgs } from "node:util";
import { closest, UsageError } from "./cli-error.js";

export interface OptionSpec {
  name: string;
  type: "string" | "boolean";
  short?: string;
  /** Placeholder shown in help, e.g. "URL". */
  arg?: string;
  help: string;
}

/** Where a command writes and what it reads from its environment. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop and return. */
  signal: AbortSignal;
  /** Whether stdout is a terminal (colour, widths). */
  isTTY: boolean;
  /**
   * Subscribes to SIGHUP (reload the config) for as long as the returned function is not
   * called; absent where there is no process signal (in-process tests).
   */
  onHangup?: (listener: () => void) => () => void;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. "wdmesh status [--url URL] [--json]". */
  usage: string;
  /** More lines of explanation shown by --help. */
  details?: string;
  options: OptionSpec[];
  examples: string[];
  run(args: Parsed, io: CliIO): Promise<number>;
}

export const HELP_OPTION: OptionSpec = { name: "help", short: "h", type: "boolean", help: "show this help" };

export function parseCommandArgs(cmd: Command, argv: string[]): Parsed {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of [...cmd.options, HELP_OPTION])
    options[o.name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed["values"], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const hint = `see "wdmesh ${cmd.name} --help"`;
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'(-{1,2}[^']*)'/.exec(err.message)?.[1] ?? "";
      const guess = closest(
        flag.replace(/^-+/, "").split("=")[0] ?? "",
        cmd.options.map((o) => o.name),
      );
      throw new UsageError(
        `unknown option ${flag} for "wdmesh ${cmd.name}"`,
        guess ? `did you mean --${guess}? ${hint}` : hint,
      );
    }
    throw new UsageError(`${err.message.replace(/\.$/, "")} (wdmesh ${cmd.name})`, hint);
  }
}

export function commandHelp(cmd: Command): string {
  const opts = [...cmd.options, HELP_OPTION];
  const left = opts.map((o) => `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = [`wdmesh ${cmd.name} — ${cmd.summary}`, "", `Usage: ${cmd.usage}`];
  if (cmd.details) lines.push("", cmd.details);
  lines.push("", "Options:");
  opts.forEach((o, i) => lines.push(`  ${(left[i] as string).padEnd(width)}${o.help}`));
  lines.push("", cmd.examples.length > 1 ? "Examples:" : "Example:");
  for (const ex of cmd.examples) lines.push(`  ${ex}`);
  return `${lines.join("\n")}\n`;
}

/** Exactly `names.length` positionals, named in the error when missing or extra. */
export function positionals(cmd: Command, args: Parsed, names: string[]): string[] {
  if (args.positionals.length < names.length) {
    throw new UsageError(
      `missing ${names.slice(args.positionals.length).join(" ")} for "wdmesh ${cmd.name}"`,
      `usage: ${cmd.usage}`,
    );
  }
  if (args.positionals.length > names.length) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(args.positionals[names.length])} for "wdmesh ${cmd.name}"`,
      `usage: ${cmd.usage}`,
    );
  }
  return args.positionals;
}

export function str(args: Parsed, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(args: Parsed, name: string): boolean {
  return args.values[name] === true;
}
