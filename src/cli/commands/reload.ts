// reload: has the running node re-read its config file, and says whether it took
// (exit 0, what changed) or was refused (exit 2, every problem). The unit's ExecReload=.
import { EXIT, UsageError } from "../cli-error.js";
import { flag, positionals, str, type CliIO, type Command, type Parsed } from "../command.js";
import { apiCall, apiTarget, TOKEN_OPTION, URL_OPTION } from "../http-client.js";
import type { ResolvedConfig } from "../../config/resolve.js";

type Problem = { path: string; message: string };

/** The config file's problems (empty when valid) and, when valid, the resolved config. */
async function readConfig(
  path: string,
  io: CliIO,
): Promise<{ config?: ResolvedConfig; problems: Problem[] }> {
  const { loadConfig, ConfigError } = await import("../../config/load.js");
  const { formatIssue } = await import("../../config/config-error.js");
  try {
    return { config: await loadConfig(path, io.env), problems: [] };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { problems: e.issues.map((i) => ({ path: i.path, message: formatIssue(i, e.source) })) };
  }
}

/** The node's own address for a local client: a wildcard listen address is reached on loopback. */
function localUrl(c: ResolvedConfig): string {
  const { host, port } = c.node.listen;
  const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

function printProblems(io: CliIO, problems: readonly Problem[], where: string): void {
  io.err(
    `wdmesh: reload refused, nothing changed (${problems.length} problem${problems.length === 1 ? "" : "s"} in ${where}):\n`,
  );
  for (const p of problems)
    io.err(`  ${p.message.startsWith(p.path) || !p.path ? "" : `${p.path}: `}${p.message}\n`);
}

/** `args` with the node's own URL and token from its config, unless given (flags or environment). */
export function withDefaults(args: Parsed, config: ResolvedConfig | undefined, io: CliIO): Parsed {
  if (!config) return args;
  const values = { ...args.values };
  if (values.url === undefined && !io.env.WDMESH_URL) values.url = localUrl(config);
  if (values.token === undefined && !io.env.WDMESH_API_TOKEN && config.node.apiToken)
    values.token = config.node.apiToken;
  return { ...args, values };
}

export const reloadCommand: Command = {
  name: "reload",
  summary: "have the running node re-read its config file; exit 2 with every problem if refused",
  usage: "wdmesh reload [--config FILE] [--pid PID] [--url URL] [--token TOKEN] [--json]",
  details:
    "Asks the node (POST /v1/reload) to re-read its config file and prints what changed, or\n" +
    "every problem with exit code 2 when the new config is refused (then nothing changed, and\n" +
    "the node journals and alerts config_reload_failed). With --config FILE the node's\n" +
    "address and api_token are taken from FILE (node.listen, node.api_token) unless given.\n" +
    "A node without api_token cannot be asked: with --pid PID the file is checked here and\n" +
    "the node is sent SIGHUP (exit 2 when the file is invalid). For ExecReload=.",
  options: [
    { name: "config", short: "c", type: "string", arg: "FILE", help: "the node's config file" },
    {
      name: "pid",
      type: "string",
      arg: "PID",
      help: "the node's process, for SIGHUP when it has no api_token",
    },
    URL_OPTION,
    TOKEN_OPTION,
    { name: "json", type: "boolean", help: "print the API's JSON answer" },
  ],
  examples: [
    "wdmesh reload --config /etc/wdmesh/mesh.yaml",
    "ExecReload=/usr/bin/wdmesh reload --config /etc/wdmesh/mesh.yaml --pid $MAINPID",
  ],
  async run(args, io) {
    positionals(this, args, []);
    const file = str(args, "config");
    const pidText = str(args, "pid");
    const pid = pidText === undefined ? undefined : Number(pidText);
    if (pid !== undefined && !(Number.isInteger(pid) && pid > 1))
      throw new UsageError(`--pid ${JSON.stringify(pidText)} is not a process id`, "e.g. --pid $MAINPID");
    const local = file === undefined ? { problems: [] as Problem[] } : await readConfig(file, io);
    const t = apiTarget(withDefaults(args, local.config, io), io, 60_000);
    if (t.token === undefined && pid !== undefined) {
      // No way to ask: check the file here, then signal (the node re-reads and logs the outcome).
      if (local.problems.length > 0) printProblems(io, local.problems, file ?? "the config file");
      process.kill(pid, "SIGHUP");
      if (local.problems.length > 0) return EXIT.USAGE;
      io.out(`sent SIGHUP to ${pid}: ${file ?? "the config file"} is valid\n`);
      return EXIT.OK;
    }
    const { body } = await apiCall(t, "POST", "/v1/reload", undefined, [400]);
    const out = body as { ok: boolean; summary?: Record<string, unknown>; problems?: Problem[] };
    if (flag(args, "json")) io.out(`${JSON.stringify(out, null, 2)}\n`);
    if (!out.ok) {
      printProblems(io, out.problems ?? local.problems, file ?? "the node's config file");
      return EXIT.USAGE;
    }
    if (!flag(args, "json")) io.out(`reloaded: ${JSON.stringify(out.summary ?? {})}\n`);
    return EXIT.OK;
  },
};
