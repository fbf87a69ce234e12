// Config files for integration tests that run a real node (`wdmesh run --config`): a test
// says only what it is about (its peers, its sinks, its timing) and the builder writes the
// node section and the YAML. Values are written as YAML values, so `${ENV}` and
// `${file:/path}` secrets stay for the node to resolve.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { LOOSE_SELF_HEALTH } from "./loose-self-health.js";

export interface NodeSection {
  name: string;
  /** A port on 127.0.0.1, or a full host:port. */
  listen?: number | string;
  data_dir: string;
  api_token?: string;
  read_token?: string;
  [key: string]: unknown;
}

export interface DaemonConfig {
  node: NodeSection;
  /** The `defaults:` timing (durations as strings: "300ms"). */
  defaults?: Record<string, unknown>;
  /** Self-health limits a busy machine keeps (for tests whose subject is not the node's load). */
  looseSelfHealth?: boolean;
  peers?: unknown[];
  alerts?: unknown[];
  mesh?: unknown;
  [key: string]: unknown;
}

/** A ladder that restarts after one miss and isolates after one failed restart, at 300 ms. */
export const FAST_LADDER = {
  interval: "300ms",
  retry_interval: "300ms",
  timeout: "200ms",
  missed_before_restart: 1,
  restarts_before_isolate: 1,
  startup_grace: "0s",
  restart_backoff: { initial: "100ms", max: "100ms" },
} as const;

/** A peer that is never restarted nor isolated, probed by TCP on 127.0.0.1. */
export function tcpPeer(
  name: string,
  port: number,
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  return { name, probe: { tcp: { host: "127.0.0.1", port } }, restart: "none", isolate: "none", ...more };
}

/** The text of a config file. */
export function daemonConfigYaml(config: DaemonConfig): string {
  const { node, looseSelfHealth, ...rest } = config;
  const listen = typeof node.listen === "number" ? `127.0.0.1:${node.listen}` : node.listen;
  const doc: Record<string, unknown> = { node: { ...node, ...(listen === undefined ? {} : { listen }) } };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) doc[k] = v;
  if (looseSelfHealth) {
    doc.self_health = {
      loop_delay_p99: `${LOOSE_SELF_HEALTH.loopDelayP99Ms}ms`,
      lateness_p99: `${LOOSE_SELF_HEALTH.latenessP99Ms}ms`,
      window: `${LOOSE_SELF_HEALTH.windowMs}ms`,
    };
  }
  return stringify(doc);
}

/** Writes the config file `file` (default node.yaml) in `dir`; returns its path. */
export function writeDaemonConfig(dir: string, config: DaemonConfig, file = "node.yaml"): string {
  const path = join(dir, file);
  writeFileSync(path, daemonConfigYaml(config));
  return path;
}
