import type { FleetStatusView } from "../../api/backend.js";
import { EXIT, UsageError } from "../cli-error.js";
import { flag, type Command } from "../command.js";
import { apiCall, apiTarget, TOKEN_OPTION, URL_OPTION } from "../http-client.js";
import { printTable, relativeTime } from "../print-table.js";

/** The fleet as `wdmesh fleet status` prints it: hosts and nodes, held steps, steps in progress. */
export function fleetText(f: FleetStatusView, now: number): string {
  const lines: string[] = [];
  lines.push(
    `fleet seen from ${f.node} (host ${f.host}): etcd ${f.etcd}${f.held ? ` — steps HELD: ${f.held}` : ""}`,
  );
  const hosts = new Map<string, string[]>();
  for (const m of f.members) hosts.set(m.host, [...(hosts.get(m.host) ?? []), m.node]);
  for (const h of f.hosts_unreachable) if (!hosts.has(h)) hosts.set(h, []);
  const rows = [...hosts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, nodes]) => [host, nodes.length > 0 ? "UP" : "UNREACHABLE", nodes.join(", ") || "-"]);
  lines.push(printTable(["HOST", "STATUS", "NODES"], rows).trimEnd());
  if (f.members.length > 0) {
    lines.push(
      printTable(
        ["NODE", "HOST", "URL", "JOINED", "LEASE"],
        f.members.map((m) => [
          m.node,
          m.host,
          m.url ?? "-",
          relativeTime(new Date(m.since).toISOString(), now),
          m.lease,
        ]),
      ).trimEnd(),
    );
  }
  if (f.steps.length > 0) {
    lines.push(
      printTable(
        ["STEP", "PEER", "BY", "HOST", "TOKEN"],
        f.steps.map((s) => [s.kind, s.peer, s.node, s.host, s.token]),
      ).trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}

export const fleetCommand: Command = {
  name: "fleet",
  summary: "the fleet (hosts, nodes, steps) from etcd, as any of its nodes sees it",
  usage: "wdmesh fleet status [--json]  [--url URL] [--token TOKEN]",
  details:
    "status   every host and node of the fleet (live etcd leases), steps in progress with their fencing\n" +
    "         tokens, and whether this node holds its steps (etcd unreachable); exit 3 if steps are held\n" +
    "         or a host is unreachable",
  options: [{ name: "json", type: "boolean", help: "print JSON" }, URL_OPTION, TOKEN_OPTION],
  examples: ["wdmesh fleet status", "wdmesh fleet status --url http://10.0.0.7:9760 --json"],
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub !== "status")
      throw new UsageError(
        sub === undefined ? 'missing subcommand for "wdmesh fleet"' : `unknown subcommand "fleet ${sub}"`,
        "use: wdmesh fleet status",
      );
    if (rest.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])} for "wdmesh fleet status"`);
    const t = apiTarget(args, io, 10_000);
    const { body } = await apiCall(t, "GET", "/v1/fleet");
    const f = body as FleetStatusView;
    if (flag(args, "json")) io.out(`${JSON.stringify(f, null, 2)}\n`);
    else io.out(fleetText(f, Date.now()));
    return f.held || f.hosts_unreachable.length > 0 ? EXIT.UNHEALTHY : EXIT.OK;
  },
};
