import type { AlertTestResult } from "../../api/backend.js";
import { iso } from "../../core/duration.js";
import type { OutboxRow } from "../../store/types.js";
import { EXIT, UsageError } from "../cli-error.js";
import { flag, str, type Command } from "../command.js";
import { apiCall, apiTarget, TOKEN_OPTION, URL_OPTION } from "../http-client.js";
import { clip, printTable, relativeTime } from "../print-table.js";

const SUBS = ["test", "pending", "dead"];

export const alertsCommand: Command = {
  name: "alerts",
  summary: "alert sinks: send a test alert, list pending or dead deliveries",
  usage:
    "wdmesh alerts test SINK | wdmesh alerts pending|dead [--sink SINK] [--json]  [--url URL] [--token TOKEN]",
  details:
    "test SINK   sends a test alert to the sink now (needs the api_token); exit 1 if it failed\n" +
    "pending     outbox rows not yet delivered (retrying)\n" +
    "dead        rows given up on (rejected by the receiver or older than max_age)",
  options: [
    { name: "sink", type: "string", arg: "SINK", help: "only rows of this sink (pending, dead)" },
    { name: "json", type: "boolean", help: "print JSON" },
    URL_OPTION,
    TOKEN_OPTION,
  ],
  examples: ["wdmesh alerts test architect", "wdmesh alerts pending", "wdmesh alerts dead --sink am --json"],
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined || !SUBS.includes(sub)) {
      throw new UsageError(
        sub === undefined ? 'missing subcommand for "wdmesh alerts"' : `unknown subcommand "alerts ${sub}"`,
        "use: alerts test SINK | alerts pending | alerts dead",
      );
    }
    const t = apiTarget(args, io, 60_000);
    if (sub === "test") {
      if (rest.length !== 1)
        throw new UsageError(
          '"wdmesh alerts test" needs exactly one SINK',
          "e.g. wdmesh alerts test architect",
        );
      // 502: the receiver failed; the body says how.
      const { body } = await apiCall(
        t,
        "POST",
        `/v1/alerts/${encodeURIComponent(rest[0] as string)}/test`,
        undefined,
        [502],
      );
      const r = body as AlertTestResult;
      if (flag(args, "json")) io.out(`${JSON.stringify(r, null, 2)}\n`);
      else
        io.out(
          r.ok
            ? `test alert delivered to ${r.sink} (${r.status ?? "ok"}, ${r.duration_ms}ms)\n`
            : `test alert to ${r.sink} FAILED: ${r.error ?? `status ${r.status}`}\n`,
        );
      return r.ok ? EXIT.OK : EXIT.FAILURE;
    }
    if (rest.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])} for "wdmesh alerts ${sub}"`);
    const sink = str(args, "sink");
    const q = `state=${sub}&limit=1000${sink ? `&sink=${encodeURIComponent(sink)}` : ""}`;
    const { body } = await apiCall(t, "GET", `/v1/deliveries?${q}`);
    const rows = body as OutboxRow[];
    if (flag(args, "json")) {
      io.out(`${JSON.stringify(rows, null, 2)}\n`);
      return EXIT.OK;
    }
    if (rows.length === 0) {
      io.out(`no ${sub} deliveries\n`);
      return EXIT.OK;
    }
    const now = Date.now();
    io.out(
      printTable(
        [
          "SEQ",
          "SINK",
          "ACTION",
          "PEER",
          "ATTEMPTS",
          sub === "pending" ? "NEXT TRY" : "CREATED",
          "LAST ERROR",
        ],
        rows.map((r) => [
          String(r.seq),
          r.sink,
          `${r.action.action} ${r.action.severity}`,
          r.action.peer_name,
          String(r.attempts),
          relativeTime(iso(sub === "pending" ? r.next_attempt_at : r.created_at), now),
          clip(r.last_error ?? "", 70),
        ]),
      ),
    );
    return EXIT.OK;
  },
};
