// The library's way in from a config file: the daemon's config format (the YAML that
// `wdmesh run` reads) turned into the options of `new Monitor(...)` and the peers to
// register, validated by the same rules, with the same ${ENV} / ${file:} secrets and the
// same typed errors. The config machinery (YAML, schema) is loaded on the first call only,
// so an agent that never reads a config file does not carry it.
import { resolve } from "node:path";
import type { PeerSpec } from "../core/options.js";
import type { MonitorOptions } from "../monitor.js";
import type { ResolvedConfig } from "./resolve.js";

/** What a config file gives an agent that embeds the Monitor. */
export interface MonitorConfig {
  /**
   * For `new Monitor(options)`: `selfName` (node.name), `policy` (the `defaults:` timing,
   * compiled: every duration in ms), `concurrency` (defaults.concurrency, default 256),
   * `selfHealth` (self_health, when the file has it), `readToken` (node.read_token, which
   * `GET /v1/mesh` then requires) and `mesh` (mesh.members, mesh.key or node.identity,
   * mesh.confirm, mesh.takeover_after in ms). Add what the file cannot say: logger,
   * executor, store, clock.
   */
  options: MonitorOptions;
  /**
   * For `monitor.registerPeer(peer)`, in file order: each peer's probe, restart and
   * isolate methods and its `policy` (defaults + its own timing keys, compiled).
   */
  peers: PeerSpec[];
  /**
   * node.listen, parsed (default 127.0.0.1:9760; port 0 lets the OS pick): where the
   * agent's own server would listen. The Monitor opens no port itself.
   */
  listen: { host: string; port: number };
  /**
   * Every secret value of the file (tokens, keys, header values, and whatever came from
   * ${ENV} or ${file:}): hide them in anything the agent logs.
   */
  secrets: readonly string[];
}

export interface MonitorConfigOptions {
  /** Environment for ${NAME} interpolation. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory that relative ${file:} paths and node.data_dir are relative to. Default: the current directory (loadMonitorOptions: the file's directory). */
  baseDir?: string;
  /** Names the source in error messages. Default "config" (loadMonitorOptions: the path). */
  sourceName?: string;
}

function fromResolved(rc: ResolvedConfig): MonitorConfig {
  const options: MonitorOptions = { ...rc.monitor };
  if (rc.node.readToken !== undefined) options.readToken = rc.node.readToken;
  if (rc.mesh) options.mesh = rc.mesh;
  return { options, peers: rc.peers, listen: rc.node.listen, secrets: rc.secrets };
}

/**
 * Monitor options from config text (YAML or JSON, as `wdmesh run --config` reads it) or
 * from the same document as an object (snake_case keys, durations as "30s" or ms).
 * The file's daemon-only sections (node.data_dir, node.api_token, alerts) are validated
 * too but the Monitor does not use them. Rejects with ConfigError (code WDM_CONFIG) whose
 * `issues` list every problem with its field path (e.g. `peers[0].timeout`), and its
 * line and column when the source is text; no secret value appears in it.
 */
export async function monitorOptionsFromConfig(
  source: string | Record<string, unknown>,
  opts: MonitorConfigOptions = {},
): Promise<MonitorConfig> {
  const { parseConfig, resolveDocument } = await import("./load.js");
  const env = opts.env ?? process.env;
  const sourceName = opts.sourceName ?? "config";
  const baseDir = resolve(opts.baseDir ?? ".");
  const rc =
    typeof source === "string"
      ? parseConfig(source, env, sourceName, { baseDir })
      : resolveDocument(source, env, sourceName, baseDir);
  return fromResolved(rc);
}

/**
 * Monitor options from a config file (the daemon's format; see monitorOptionsFromConfig).
 * Relative ${file:} paths are relative to the file's directory. Rejects with ConfigError
 * (WDM_CONFIG), also when the file cannot be read.
 */
export async function loadMonitorOptions(
  path: string,
  opts: Pick<MonitorConfigOptions, "env"> = {},
): Promise<MonitorConfig> {
  const { loadConfig } = await import("./load.js");
  return fromResolved(await loadConfig(path, opts.env ?? process.env));
}
