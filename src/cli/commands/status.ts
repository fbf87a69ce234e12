import type { PeerHealth } from "../../core/types.js";
import type { MeshView } from "../../api/backend.js";
import { EXIT } from "../cli-error.js";
import { flag, positionals, type Command } from "../command.js";
import { apiCall, apiTarget, TOKEN_OPTION, URL_OPTION } from "../http-client.js";
import { clip, printTable, relativeTime } from "../print-table.js";

export function peerTable(peers: PeerHealth[], now: number): string {
  const rows = peers.map((p) => {
    const notes: string[] = [];
    if (p.silenced_until && Date.parse(p.silenced_until) > now)
      notes.push(`silenced until ${p.silenced_until}`);
    if (p.last_error && p.status !== "HEALTHY") notes.push(clip(p.last_error, 60));
    return [
      p.name,
      p.status,
      String(p.missed_count),
      String(p.restart_count),
      relativeTime(p.last_seen, now),
      p.last_seen === null ? "-" : `${p.response_time_ms}ms`,
      notes.join("; "),
    ];
  });
  return printTable(["PEER", "STATUS", "MISSES", "RESTARTS", "LAST SEEN", "LATENCY", "NOTE"], rows);
}

/**
 * The mesh as `wdmesh status` and the demo print it: the peers table, then the other
 * wdmesh nodes of the mesh on one line (`members: wd-b HEALTHY`), as the API lists them.
 */
export function meshText(view: Pick<MeshView, "node" | "peers" | "members">, now: number): string {
  const members = view.members ?? [];
  const head =
    view.peers.length === 0
      ? `node ${view.node}: no peers configured\n`
      : `node ${view.node}, ${view.peers.length} peer(s)\n${peerTable(view.peers, now)}`;
  return members.length === 0
    ? head
    : `${head}members: ${members.map((m) => `${m.name} ${m.status}`).join(", ")}\n`;
}

export const statusCommand: Command = {
  name: "status",
  summary: "table of peers: status, misses, restarts, last seen, latency",
  usage: "wdmesh status [--url URL] [--json] [--token TOKEN]",
  details: "Exit code 3 when any peer is not HEALTHY, 1 when the node cannot be reached.",
  options: [
    URL_OPTION,
    { name: "json", type: "boolean", help: "print the /v1/mesh JSON instead of a table" },
    TOKEN_OPTION,
  ],
  examples: ["wdmesh status", "wdmesh status --url http://10.0.0.2:9760 --json"],
  async run(args, io) {
    positionals(this, args, []);
    const t = apiTarget(args, io);
    const { body } = await apiCall(t, "GET", "/v1/mesh");
    const view = body as MeshView;
    if (flag(args, "json")) {
      io.out(`${JSON.stringify(view, null, 2)}\n`);
    } else {
      io.out(meshText(view, Date.now()));
    }
    return view.peers.every((p) => p.status === "HEALTHY") ? EXIT.OK : EXIT.UNHEALTHY;
  },
};
