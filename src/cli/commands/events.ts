import { readFileSync } from "node:fs";
import { JournalFile, type ChainHead } from "../../store/journal-file.js";
import { CheckpointAudit, trustedKeys, type SignatureReport } from "../../store/journal-signing.js";
import { verifyChain, type VerifyResult } from "../../store/journal.js";
import type { JournalEntry } from "../../store/types.js";
import { CliError, EXIT, UsageError } from "../cli-error.js";
import { flag, positionals, str, type CliIO, type Command, type Parsed } from "../command.js";
import { withDefaults } from "./reload.js";
import type { ResolvedConfig } from "../../config/resolve.js";
import { apiCall, apiTarget, eventStream, TOKEN_OPTION, URL_OPTION, type ApiTarget } from "../http-client.js";
import { NODE_DEFAULTS } from "../../core/defaults.js";
import { clip } from "../print-table.js";
import { MAX_EVENTS_LIMIT } from "../../api/routes/events.js";

/** Entries per GET /v1/events page: the API's maximum, so a shorter page is the last one. */
const PAGE = MAX_EVENTS_LIMIT;

/** Longest delivery error shown in the human output, characters (--json has it whole). */
const MAX_ERROR_CHARS = 120;

type AuditResult = ReturnType<CheckpointAudit["result"]>;

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

async function verify(
  t: ApiTarget,
  io: CliIO,
  args: Parameters<Command["run"]>[0],
  config: ResolvedConfig | undefined,
): Promise<number> {
  const audit = await checkpointAudit(args, config);
  const entries: JournalEntry[] = [];
  for await (const e of allEntries(t, 0)) {
    entries.push(e);
    audit.add(e);
  }
  const last = entries.at(-1);
  const head = last === undefined ? null : { seq: last.seq, hash: last.hash };
  return report(verifyChain(entries), audit.result(), head, io, flag(args, "json"));
}

/**
 * Prints a verification: the chain head (seq and hash of the newest entry) when the links
 * hold, so it can be kept as a witness and compared later (a deleted tail shows as an older
 * head); what the signed checkpoints cover (or why they were not checked); the first
 * problem otherwise (a broken link first, then a bad or missing checkpoint).
 * `--json`: one object `{ ok, checked, head, signatures, seq + reason when not ok }`.
 */
function report(
  r: VerifyResult,
  s: AuditResult,
  head: ChainHead | null,
  io: CliIO,
  json: boolean,
  source?: { file: string; mode: string },
): number {
  const failure = !r.ok
    ? { seq: r.seq, reason: r.reason }
    : !s.ok
      ? { seq: s.seq, reason: s.reason }
      : undefined;
  if (json) {
    const out = {
      ok: failure === undefined,
      checked: r.checked,
      ...(r.ok ? { head } : {}),
      ...(failure ?? {}),
      signatures: s.signatures,
      ...(source ?? {}),
    };
    io.out(`${JSON.stringify(out)}\n`);
    return failure ? EXIT.FAILURE : EXIT.OK;
  }
  if (!r.ok) {
    io.out(`journal BROKEN at seq ${r.seq}: ${r.reason} (${r.checked} entries before it verified)\n`);
    return EXIT.FAILURE;
  }
  const shown = head ? `head: seq ${head.seq} hash ${head.hash}` : "the journal is empty";
  const n = `${r.checked} entr${r.checked === 1 ? "y" : "ies"}`;
  if (!s.ok) {
    io.out(`journal BROKEN at seq ${s.seq}: ${s.reason} (the hash links of ${n} hold; ${shown})\n`);
    return EXIT.FAILURE;
  }
  io.out(`journal ok: ${n} verified, chain intact; ${shown}\n`);
  io.out(`${signatureLine(s.signatures)}\n`);
  return EXIT.OK;
}

function signatureLine(sig: SignatureReport): string {
  if (!sig.checked) {
    const held =
      sig.checkpoints === 0
        ? "the journal holds no signed checkpoint"
        : `the journal holds ${sig.checkpoints} signed checkpoint${sig.checkpoints === 1 ? "" : "s"}, by key ${sig.signed_by.join(", ")}`;
    return `signatures not checked: ${sig.why}; ${held}`;
  }
  const keys = sig.public_keys.join(", ");
  if (sig.signed_seq === null) return `signatures ok: the journal is empty (trusted key ${keys})`;
  return (
    `signatures ok: ${sig.checkpoints} signed checkpoint${sig.checkpoints === 1 ? "" : "s"} verified with ${keys}; ` +
    `entries 1-${sig.signed_seq} covered (newest signed seq ${sig.signed_seq})`
  );
}

/** With --config and no token given (nor an api_token in it): the node's read_token. */
function withReadToken(args: Parsed, config: ResolvedConfig | undefined, io: CliIO): Parsed {
  if (!config?.node.readToken || args.values.token !== undefined || io.env.WDMESH_API_TOKEN) return args;
  return { ...args, values: { ...args.values, token: config.node.readToken } };
}

const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/;

/** The node's config (--config), for its identity's public key and its own URL and token. */
async function nodeConfig(file: string, io: CliIO): Promise<ResolvedConfig> {
  const { loadConfig, ConfigError } = await import("../../config/load.js");
  try {
    return await loadConfig(file, io.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new UsageError(
      `${file}: ${e.issues.length} config problem${e.issues.length === 1 ? "" : "s"}; its node.identity cannot be read`,
      `run wdmesh validate --config ${file}`,
    );
  }
}

/** The trusted public keys: --public-key (keys or a file of them), or node.identity of --config. */
async function checkpointAudit(
  args: Parameters<Command["run"]>[0],
  config: ResolvedConfig | undefined,
): Promise<CheckpointAudit> {
  const given = str(args, "public-key");
  const configFile = str(args, "config");
  if (given !== undefined && configFile !== undefined)
    throw new UsageError("give either --public-key or --config, not both");
  if (given !== undefined) {
    const inline = given.split(",").map((k) => k.trim());
    let keys = inline;
    if (!inline.every((k) => KEY_TEXT.test(k))) {
      let text: string;
      try {
        text = readFileSync(given, "utf8");
      } catch (e) {
        throw new UsageError(
          `--public-key ${JSON.stringify(given)} is neither a public key nor a readable file (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
          "give the node's public key (44 base64 characters, as `wdmesh keygen` printed it), or a file holding it",
        );
      }
      keys = text
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim())
        .flatMap((l) => l.split(/[\s,]+/))
        .filter((k) => k !== "");
      const bad = keys.find((k) => !KEY_TEXT.test(k));
      if (keys.length === 0 || bad !== undefined)
        throw new UsageError(
          `${given}: ${bad === undefined ? "holds no public key" : `${JSON.stringify(clip(bad, 60))} is not a public key`}`,
          "the file holds the node's public key(s), 44 base64 characters each, as `wdmesh keygen` printed them (one a line; # comments)",
        );
    }
    return new CheckpointAudit(trustedKeys(keys, "--public-key"));
  }
  if (configFile !== undefined && config !== undefined) {
    const pem = config.node.identity;
    if (pem === undefined)
      throw new UsageError(
        `${configFile} has no node.identity: that node does not sign its journal`,
        "give the public key with --public-key, or verify without it (hash links only)",
      );
    const { loadIdentity } = await import("../../core/identity.js");
    return new CheckpointAudit(trustedKeys([loadIdentity(pem, "node.identity").publicKey], "node.identity"));
  }
  return new CheckpointAudit(
    [],
    "no public key given (--public-key KEY|FILE, or --config FILE with node.identity)",
  );
}

/** Reads the journal from a state file, read-only (the node may be running, or not). */
async function offline(
  dir: string,
  args: Parameters<Command["run"]>[0],
  io: CliIO,
  after: number,
  config: ResolvedConfig | undefined,
): Promise<number> {
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
      const audit = await checkpointAudit(args, config);
      const r = file.verify(audit);
      return report(r, audit.result(), file.head(), io, json, { file: file.file, mode: file.mode });
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
    "wdmesh events [--after SEQ] [--follow] [--json] [--verify [--public-key KEY|FILE | --config FILE]] [--url URL] [--token TOKEN] [--data-dir DIR]",
  details:
    "Prints journal entries oldest first. --follow keeps streaming new entries (Ctrl-C stops).\n" +
    "An entry whose alert is not delivered ends with [SINK: pending|dead (last error)].\n" +
    "--verify fetches the whole journal and checks its hash chain; exit code 1 and the first\n" +
    "broken link when it was tampered with. A node with node.identity signs its journal at every\n" +
    "commit: with its public key (--public-key, or --config FILE with node.identity) --verify also\n" +
    "checks every signed checkpoint and that they cover every entry (exit code 1 and the seq if not).\n" +
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
      name: "public-key",
      type: "string",
      arg: "KEY|FILE",
      help: "with --verify: the node's public key (as wdmesh keygen printed it; several: comma-separated), or a file of them",
    },
    {
      name: "config",
      short: "c",
      type: "string",
      arg: "FILE",
      help: "with --verify: the node's config file; the public key of its node.identity is trusted (and its URL and token are used)",
    },
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
    `wdmesh events --verify --data-dir ${NODE_DEFAULTS.dataDir} --config /etc/wdmesh/mesh.yaml`,
    "wdmesh events --verify --public-key /etc/wdmesh/node.pub --json",
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
    if (
      !flag(args, "verify") &&
      (str(args, "public-key") !== undefined || str(args, "config") !== undefined)
    ) {
      throw new UsageError("--public-key and --config are for --verify (checking the signed checkpoints)");
    }
    const configFile = str(args, "config");
    const config = configFile === undefined ? undefined : await nodeConfig(configFile, io);
    const dataDir = str(args, "data-dir");
    if (dataDir !== undefined) return offline(dataDir, args, io, Number(rawAfter ?? 0), config);
    const t = apiTarget(withReadToken(withDefaults(args, config, io), config, io), io);
    if (flag(args, "verify")) return verify(t, io, args, config);
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
