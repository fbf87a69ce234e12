// validate, schema and run: the commands that work from a config file, not the API.
import { EXIT, UsageError } from "../cli-error.js";
import { flag, positionals, str, type CliIO, type Command, type Parsed } from "../command.js";
import type { ResolvedConfig } from "../../config/resolve.js";

const CONFIG_OPTION = {
  name: "config",
  short: "c",
  type: "string",
  arg: "FILE",
  help: "the config file (YAML or JSON) (required)",
} as const;

function configPath(cmd: Command, args: Parsed): string {
  positionals(cmd, args, []);
  const path = str(args, "config");
  if (path === undefined || path === "")
    throw new UsageError(
      `missing --config FILE for "wdmesh ${cmd.name}"`,
      `e.g. wdmesh ${cmd.name} --config /etc/wdmesh/mesh.yaml`,
    );
  return path;
}

/** Loads the config; on ConfigError prints every issue to stderr and returns undefined. */
async function load(path: string, io: CliIO): Promise<ResolvedConfig | undefined> {
  const { loadConfig, ConfigError } = await import("../../config/load.js");
  const { formatIssue } = await import("../../config/config-error.js");
  try {
    return await loadConfig(path, io.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const n = e.issues.length;
    io.err(`${e.source}: ${n} config problem${n === 1 ? "" : "s"}:\n`);
    for (const issue of e.issues) io.err(`  ${formatIssue(issue, e.source)}\n`);
    return undefined;
  }
}

export const validateCommand: Command = {
  name: "validate",
  summary: "check a config file and print the resolved config (secrets masked)",
  usage: "wdmesh validate --config FILE [--json]",
  details: "Exit code 2 with every problem listed (path: message (hint)) when the file is invalid.",
  options: [CONFIG_OPTION, { name: "json", type: "boolean", help: "print JSON instead of YAML" }],
  examples: ["wdmesh validate --config /etc/wdmesh/mesh.yaml"],
  async run(args, io) {
    const path = configPath(this, args);
    const rc = await load(path, io);
    if (!rc) return EXIT.USAGE;
    const { maskedConfig } = await import("../../config/mask.js");
    const masked = maskedConfig(rc);
    if (flag(args, "json")) {
      io.out(`${JSON.stringify(masked, null, 2)}\n`);
    } else {
      const { stringify } = await import("yaml");
      io.out(`# ${path}: valid (resolved; durations in ms, secrets masked)\n${stringify(masked)}`);
    }
    return EXIT.OK;
  },
};

export const schemaCommand: Command = {
  name: "schema",
  summary: "print the JSON Schema of the config file",
  usage: "wdmesh schema",
  options: [],
  examples: ["wdmesh schema > wdmesh.schema.json"],
  async run(args, io) {
    positionals(this, args, []);
    const { configJsonSchema } = await import("../../config/json-schema.js");
    io.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return EXIT.OK;
  },
};

export const runCommand: Command = {
  name: "run",
  summary: "run the node in the foreground (JSON logs on stdout)",
  usage: "wdmesh run --config FILE",
  details:
    "SIGTERM or SIGINT stops it cleanly (state flushed, sockets closed), exit code 0.\n" +
    "SIGHUP (systemctl reload) or POST /v1/reload re-reads FILE: peers, sinks and thresholds\n" +
    "change in place, keeping the state of what stays; an invalid file changes nothing.\n" +
    "Exit code 2 when the config is invalid at start: nothing is started.",
  options: [CONFIG_OPTION],
  examples: ["wdmesh run --config /etc/wdmesh/mesh.yaml"],
  async run(args, io) {
    const path = configPath(this, args);
    const rc = await load(path, io);
    if (!rc) return EXIT.USAGE;
    const { runDaemon } = await import("../../daemon.js");
    const { loadConfig } = await import("../../config/load.js");
    const handle = await runDaemon(rc, { loadConfig: () => loadConfig(path, io.env) });
    // SIGHUP (systemctl reload): re-read the file; the daemon logs what changed or every problem.
    const offHangup = io.onHangup?.(
      () =>
        void handle
          .reload()
          .catch((e: unknown) => io.err(`wdmesh: reload failed: ${(e as Error).message}\n`)),
    );
    void handle.done.then(() => offHangup?.());
    const stop = (): void => {
      handle.stop().catch((e: unknown) => io.err(`wdmesh: error while stopping: ${(e as Error).message}\n`));
    };
    if (io.signal.aborted) stop();
    else io.signal.addEventListener("abort", stop, { once: true });
    await handle.done;
    return EXIT.OK;
  },
};
