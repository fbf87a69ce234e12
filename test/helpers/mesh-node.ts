// Mesh tests run every scenario with the nodes as `wdmesh run` daemons, as agents that
// embed the library's Monitor (test/fixtures/embedded-node.mjs: the same config file,
// the same options), or both mixed. One node = one process started from its config.
import { fileURLToPath } from "node:url";
import { CLI } from "./built-cli.js";
import { spawnTracked, type Daemon } from "./daemon-process.js";

export type NodeKind = "daemon" | "embedded";

export const EMBEDDED_NODE = fileURLToPath(new URL("../fixtures/embedded-node.mjs", import.meta.url));

/** The command line that starts a node of `kind` from the wdmesh config file `config`. */
export function nodeCommand(kind: NodeKind, config: string): string[] {
  return kind === "daemon"
    ? [process.execPath, CLI, "run", "--config", config]
    : [process.execPath, EMBEDDED_NODE, config];
}

/** Starts a node of `kind` from `config`; it is killed when the test file ends (daemon-process.ts). */
export function spawnNode(kind: NodeKind, config: string): Daemon {
  return spawnTracked(nodeCommand(kind, config));
}

/** Node kinds per mesh variant: three daemons, three embedded agents, or mixed. */
export const MESH_VARIANTS: Record<string, NodeKind[]> = {
  daemons: ["daemon", "daemon", "daemon"],
  embedded: ["embedded", "embedded", "embedded"],
  mixed: ["embedded", "daemon", "embedded"],
};
