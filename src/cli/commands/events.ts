import { JournalFile, type ChainHead } from "../../store/journal-file.js";
import { verifyChain, type VerifyResult } from "../../store/journal.js";
import type { JournalEntry } from "../../store/types.js";
import { CliError, EXIT, UsageError } from "../cli-error.js";
import { flag, positionals, str, type CliIO, type Command } from "../command.js";
import { apiCall, apiTarget, eventStream, TOKEN_OPTION, URL_OPTION, type ApiTarget } from "../http-client.js";
import { NODE_DEFAULTS } from "../../core/defaults.js";
import { clip } from "../print-table.js";
import { MAX_EVENTS_LIMIT } from "../../api/routes/events.js";

/** Entries per GET /v1/events page: the API's maximum, so a shorter page is the last one. */
const PAGE = MAX_EVENTS_LIMIT;

/** Longest delivery error shown in the human output, characters (--json has it whole). */
const MAX_ERROR_CHARS = 120;

/**
 * Alerts of this entry not delivered (yet): ` [architect: dead (HTTP 400: ...); am: pending, 3 attempts]`.
 * Delivered ones are not shown; `--json` lists every sink.
 */
export function formatDeliveries(e: JournalEntry): string {
  const open = (e.deliveries ?? []).filter((d) => d.state !== "delivered");
  if (open.length === 0) return "";
  const parts = open.map((d) => {
    const tries =
      d.state === "pending" && d.attempts > 0 ? `, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}` : "";
    const err = d.last_error ? ` (${clip(d.last_error, MAX_ERROR_CHARS)})` : "";
    return `${d.sink}: ${d.state}${tries}${err}`;
  });
  return ` [${parts.join("; ")}]`;
}

export function formatEntry(e: JournalEntry): string {
  const result = e.result ? (e.result.ok ? " [ok]" : ` [FAILED: ${e.result.error ?? "unknown error"}]`) : "";
  return `#${e.seq} ${e.timestamp} ${e.severity.padEnd(8)} ${e.action.padEnd(15)} ${e.peer_name}: ${e.reason}${result}${formatDeliveries(e)}\n`;
}

async function* allEntries(t: ApiTarget, after: number): AsyncGenerator<JournalEntry> {
  let cursor = after;
  for (;;) {
    const { body } = await apiCall(t, "GET", `/v1/events?after=${cursor}&limit=${PAGE}`);
    const page = body as JournalEntry[];
    for (const e of page) yield e;
    if (page.length < PAGE) return;
    cursor = (page.at(-1) as JournalEntry).seq;
  }
}

async function verify(t: ApiTarget, io: CliIO, args: Parameters<Command["run"]>[0]): Promise<number> {
  const entries: JournalEntry[] = [];
  for await (const e of allEntries(t, 0)) entries.push(e);
  const last = entries.at(-1);
  const head = last === undefined ? null : { seq: last.seq, hash: last.hash };
  return report(verifyChain(entries), head, io, flag(args, "json"));
}

/**
 * Prints a verification: the chain head (seq and hash of the newest entry) on success, so it
 * can be kept as a witness and compared later (a deleted tail shows as an older head); the
 * first broken link otherwise. `--json`: one object `{ ok, checked, head | seq + reason }`.
 */
function report(
  r: VerifyResult,
  head: ChainHead | null,
  io: CliIO,
  json: boolean,
  source?: { file: string; mode: string },
): number {
  if (json) {
    io.out(`${JSON.stringify({ ...r, ...(r.ok ? { head } : {}), ...(source ?? {}) })}\n`);
    return r.ok ? EXIT.OK : EXIT.FAILURE;
  }
  if (r.ok) {
    const shown = head ? `; head: seq ${head.seq} hash ${head.hash}` : "; the journal is empty";
    io.out(`journal ok: ${r.checked} entr${r.checked === 1 ? "y" : "ies"} verified, chain intact${shown}\n`);
    return EXIT.OK;
  }
  io.out(`journal BROKEN at seq ${r.seq}: ${r.reason} (${r.checked} entries before it verified)\n`);
  return EXIT.FAILURE;
}

/** Reads the journal from a state file, read-only (the node may be running, or not). */
function offline(dir: string, args: Parameters<Command["run"]>[0], io: CliIO, after: number): number {
  if (flag(args, "follow")) {
    throw new UsageError("--follow needs a running node (--url); --data-dir reads the file as it is now");
  }
  if (str(args, "url") !== undefined) throw new UsageError("give either --data-dir or --url, not both");
  const file = JournalFile.open(dir);
  try {
    if (flag(args, "verify")) {
      const json = flag(args, "json");
      const how = file.mode === "snapshot" ? "read-only, from a private copy" : "read-only, in place";
      if (!json) io.out(`reading ${file.file} (${how})\n`);
      return report(file.verify(), file.head(), io, json, { file: file.file, mode: file.mode });
    }
    const print = flag(args, "json")
      ? (e: JournalEntry) => io.out(`${JSON.stringify(e)}\n`)
      : (e: JournalEntry) => io.out(formatEntry(e));
    for (let page = file.entries(after); page.length > 0; page = file.entries(page.at(-1)?.seq ?? 0)) {
      for (const e of page) print(e);
    }
    return EXIT.OK;
  } finally {
    file.close();
  }
}

export const eventsCommand: Command = {
  name: "events",
  summary: "the escalation journal",
  usage:
    "wdmesh events [--after SEQ] [--follow] [--json] [--verify] [--url URL] [--token TOKEN] [--data-dir DIR]",
  details:
    "Prints journal entries oldest first. --follow keeps streaming new entries (Ctrl-C stops).\n" +
    "An entry whose alert is not delivered ends with [SINK: pending|dead (last error)].\n" +
    "--verify fetches the whole journal and checks its hash chain; exit code 1 and the first\n" +
    "broken link when it was tampered with.\n" +
    "--data-dir DIR reads the journal from DIR/wdmesh.db (or a copy of that file) read-only,\n" +
    "while the node runs or not: an offline audit. Copy wdmesh.db-wal along with a copy.",
  options: [
    {
      name: "after",
      type: "string",
      arg: "SEQ",
      help: "only entries after this journal seq (default 0: all)",
    },
    { name: "follow", short: "f", type: "boolean", help: "keep printing new entries as they happen" },
    { name: "json", type: "boolean", help: "one JSON entry per line" },
    { name: "verify", type: "boolean", help: "check the journal's hash chain instead of printing it" },
    {
      name: "data-dir",
      type: "string",
      arg: "DIR",
      help: "read the journal from this data_dir or state file, read-only, without the API",
    },
    URL_OPTION,
    TOKEN_OPTION,
  ],
  examples: [
    "wdmesh events --follow",
    "wdmesh events --after 120 --json",
    "wdmesh events --verify",
    `wdmesh events --verify --data-dir ${NODE_DEFAULTS.dataDir}`,
  ],
  async run(args, io) {
    positionals(this, args, []);
    const rawAfter = str(args, "after");
    if (rawAfter !== undefined && !/^\d{1,15}$/.test(rawAfter)) {
      throw new UsageError(
        `--after ${JSON.stringify(rawAfter)} must be a journal seq (a non-negative integer)`,
      );
    }
    if (flag(args, "verify") && (flag(args, "follow") || rawAfter !== undefined)) {
      throw new UsageError(
        "--verify checks the whole journal: it cannot be combined with --follow or --after",
      );
    }
    const dataDir = str(args, "data-dir");
    if (dataDir !== undefined) return offline(dataDir, args, io, Number(rawAfter ?? 0));
    const t = apiTarget(args, io);
    if (flag(args, "verify")) return verify(t, io, args);
    const print = flag(args, "json")
      ? (e: JournalEntry) => io.out(`${JSON.stringify(e)}\n`)
      : (e: JournalEntry) => io.out(formatEntry(e));
    let last = Number(rawAfter ?? 0);
    for await (const e of allEntries(t, last)) {
      print(e);
      last = e.seq;
    }
    if (!flag(args, "follow")) return EXIT.OK;
    for await (const raw of eventStream(t, last, io.signal)) {
      const e = raw as JournalEntry;
      if (e.seq <= last) continue;
      print(e);
      last = e.seq;
    }
    if (io.signal.aborted) return EXIT.OK;
    throw new CliError(
      EXIT.FAILURE,
      `the node at ${t.base.origin} closed the event stream`,
      "it may be restarting; run the command again",
    );
  },
};
