// release / restart / check / silence: control actions through the API (token required).
import type { EscalationAction, PeerHealth } from "../../core/types.js";
import { EXIT } from "../cli-error.js";
import { flag, positionals, str, type Command, type OptionSpec } from "../command.js";
import { apiCall, apiTarget, TOKEN_OPTION, URL_OPTION } from "../http-client.js";
import { UsageError } from "../cli-error.js";

const JSON_OPTION: OptionSpec = { name: "json", type: "boolean", help: "print the API's JSON answer" };
const TOKEN_DETAILS = "Needs the node's api_token: --token TOKEN or $WDMESH_API_TOKEN.";

function describeAction(a: EscalationAction): string {
  const result = a.result ? (a.result.ok ? " — ok" : ` — FAILED: ${a.result.error ?? "unknown error"}`) : "";
  return `${a.action} ${a.peer_name} [${a.severity}]: ${a.reason}${result}\n`;
}

function actionCommand(name: "release" | "restart", summary: string, details: string): Command {
  return {
    name,
    summary,
    usage: `wdmesh ${name} PEER [--url URL] [--token TOKEN] [--json]`,
    details: `${details}\n${TOKEN_DETAILS}`,
    options: [URL_OPTION, TOKEN_OPTION, JSON_OPTION],
    examples: [`WDMESH_API_TOKEN=... wdmesh ${name} sidecar`],
    async run(args, io) {
      const [peer] = positionals(this, args, ["PEER"]);
      const t = apiTarget(args, io, 60_000);
      const { body } = await apiCall(t, "POST", `/v1/peers/${encodeURIComponent(peer as string)}/${name}`);
      const a = body as EscalationAction;
      io.out(flag(args, "json") ? `${JSON.stringify(a, null, 2)}\n` : describeAction(a));
      return a.result && !a.result.ok ? EXIT.FAILURE : EXIT.OK;
    },
  };
}

export const releaseCommand = actionCommand(
  "release",
  "undo a peer's isolation and reset its counters",
  "The peer returns to UNKNOWN and is probed again.",
);
export const restartCommand = actionCommand(
  "restart",
  "restart a peer now, outside the ladder",
  "Uses the peer's configured restart method.",
);

export const checkCommand: Command = {
  name: "check",
  summary: "probe a peer now and show its health",
  usage: "wdmesh check PEER [--url URL] [--token TOKEN] [--json]",
  details: `Exit code 3 when the peer is not HEALTHY afterwards.\n${TOKEN_DETAILS}`,
  options: [URL_OPTION, TOKEN_OPTION, JSON_OPTION],
  examples: ["wdmesh check sidecar"],
  async run(args, io) {
    const [peer] = positionals(this, args, ["PEER"]);
    const t = apiTarget(args, io, 60_000);
    const { body } = await apiCall(t, "POST", `/v1/peers/${encodeURIComponent(peer as string)}/check`);
    const p = body as PeerHealth;
    if (flag(args, "json")) io.out(`${JSON.stringify(p, null, 2)}\n`);
    else
      io.out(`${p.name}: ${p.status}${p.last_error ? ` (${p.last_error})` : ""}, ${p.response_time_ms}ms\n`);
    return p.status === "HEALTHY" ? EXIT.OK : EXIT.UNHEALTHY;
  },
};

export const silenceCommand: Command = {
  name: "silence",
  summary: "maintenance: keep probing a peer but never escalate it, for a while",
  usage: "wdmesh silence PEER --for DURATION [--url URL] [--token TOKEN] [--json]",
  details: `DURATION is like 30m, 1h, 1h30m (at most 365d); --for 0 ends a silence.\n${TOKEN_DETAILS}`,
  options: [
    { name: "for", type: "string", arg: "DURATION", help: "how long, e.g. 1h (required)" },
    URL_OPTION,
    TOKEN_OPTION,
    JSON_OPTION,
  ],
  examples: ["wdmesh silence sidecar --for 1h", "wdmesh silence sidecar --for 0"],
  async run(args, io) {
    const [peer] = positionals(this, args, ["PEER"]);
    const duration = str(args, "for");
    if (duration === undefined)
      throw new UsageError('missing --for DURATION for "wdmesh silence"', "e.g. --for 1h");
    const t = apiTarget(args, io);
    const { body } = await apiCall(t, "POST", `/v1/peers/${encodeURIComponent(peer as string)}/silence`, {
      for: duration,
    });
    const p = body as PeerHealth;
    if (flag(args, "json")) io.out(`${JSON.stringify(p, null, 2)}\n`);
    else if (p.silenced_until && Date.parse(p.silenced_until) > Date.now())
      io.out(`${p.name} silenced until ${p.silenced_until}\n`);
    else io.out(`${p.name}: silence ended\n`);
    return EXIT.OK;
  },
};
