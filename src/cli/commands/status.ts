import type { PeerHealth } from "../../core/types.js";
import type { MeshView } from "../../api/backend.js";
import { CliError, EXIT } from "../cli-error.js";
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

/** One peer, every field on its own line (the table clips errors; this does not). */
export function peerText(p: PeerHealth, now: number): string {
  const rows: Array<[string, string]> = [
    ["peer", p.name],
    ["status", p.status],
    ["endpoint", p.endpoint],
    ["missed", String(p.missed_count)],
    ["restarts", String(p.restart_count)],
    ["last seen", p.last_seen === null ? "never" : `${p.last_seen} (${relativeTime(p.last_seen, now)})`],
    ["latency", p.last_seen === null ? "-" : `${p.response_time_ms} ms`],
    ["last error", p.last_error ?? "-"],
    ["last restart", p.last_restart ?? "-"],
    ["incident", p.incident_id ?? "-"],
    ["owner", p.owner ?? "-"],
  ];
  if (p.isolated_at) rows.push(["isolated at", p.isolated_at]);
  if (p.silenced_until) rows.push(["silenced until", p.silenced_until]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join("");
}

export const statusCommand: Command = {
  name: "status",
  summary: "table of peers: status, misses, restarts, last seen, latency",
  usage: "wdmesh status [PEER] [--url URL] [--json] [--token TOKEN]",
  details:
    "With PEER, that peer alone with every field (its whole last error).\n" +
    "Exit code 3 when any peer shown is not HEALTHY, 1 when the node cannot be reached or PEER is unknown.",
  options: [
    URL_OPTION,
    { name: "json", type: "boolean", help: "print the /v1/mesh JSON instead of a table" },
    TOKEN_OPTION,
  ],
  examples: ["wdmesh status", "wdmesh status sidecar", "wdmesh status --url http://10.0.0.2:9760 --json"],
  async run(args, io) {
    const [name] =
      args.positionals.length > 0 ? positionals(this, args, ["PEER"]) : positionals(this, args, []);
    const t = apiTarget(args, io);
    const { body } = await apiCall(t, "GET", "/v1/mesh");
    const view = body as MeshView;
    if (name !== undefined) {
      const peer = view.peers.find((p) => p.name === name);
      if (!peer) {
        const known = view.peers.map((p) => p.name);
        throw new CliError(
          EXIT.FAILURE,
          `no peer named ${JSON.stringify(name)} on node ${view.node}`,
          known.length > 0 ? `its peers: ${known.join(", ")}` : "it has no peers configured",
        );
      }
      io.out(flag(args, "json") ? `${JSON.stringify(peer, null, 2)}\n` : peerText(peer, Date.now()));
      return peer.status === "HEALTHY" ? EXIT.OK : EXIT.UNHEALTHY;
    }
    if (flag(args, "json")) {
      io.out(`${JSON.stringify(view, null, 2)}\n`);
    } else {
      io.out(meshText(view, Date.now()));
    }
    return view.peers.every((p) => p.status === "HEALTHY") ? EXIT.OK : EXIT.UNHEALTHY;
  },
};
