// Reading the journal straight from a state file, read-only: `wdmesh events --data-dir DIR`
// audits a node's journal while the node runs (SQLite readers never block its writer) or
// after it stopped, and a copy of the file taken for an investigation (copy wdmesh.db with
// its wdmesh.db-wal when there is one: recent entries may still be in it).
//
// A live node's file (its -shm beside it: the node has it open) is read in place, read-only.
// Any other file (a copy, a stopped node's file, a read-only mount) is read from a private
// snapshot: wdmesh.db and its -wal copied into a fresh 0700 temporary directory, removed on
// close, so nothing (no -wal, no -shm) is ever written beside the file being audited, and a
// read-only mount works.
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { sqliteDriver } from "./sqlite-driver.js";
import { verifyChain, type VerifyResult } from "./journal.js";
import type { CheckpointAudit } from "./journal-signing.js";
import { STATE_FILE_NAME, storeError } from "./open.js";
import { actionFromEntry } from "./outbox.js";
import type { JournalEntry } from "./types.js";

/** The newest entry of a journal: a witness to keep (or compare) outside the node. */
export interface ChainHead {
  seq: number;
  hash: string;
}
import { STORE_DEFAULTS } from "../core/defaults.js";

/**
 * One page of the journal with each entry's effect result and signed checkpoint:
 * seq > ?, at most ? rows.
 */
export const JOURNAL_PAGE_SQL = `SELECT j.seq, j.entry, j.prev_hash, j.hash, j.result, e.result AS effect_result,
    c.node AS c_node, c.hash AS c_hash, c.public_key AS c_key, c.signature AS c_sig
  FROM journal j LEFT JOIN effects e ON e.id = j.id AND e.status = 'done'
  LEFT JOIN journal_checkpoints c ON c.seq = j.seq
  WHERE j.seq > ? ORDER BY j.seq LIMIT ?`;

/** The same for a state file from before signed checkpoints existed (it has none). */
const UNSIGNED_PAGE_SQL = `SELECT j.seq, j.entry, j.prev_hash, j.hash, j.result, e.result AS effect_result
  FROM journal j LEFT JOIN effects e ON e.id = j.id AND e.status = 'done'
  WHERE j.seq > ? ORDER BY j.seq LIMIT ?`;

export interface RawJournalRow {
  seq: number;
  entry: string;
  prev_hash: string;
  hash: string;
  result: string | null;
  effect_result: string | null;
  /** The signed checkpoint at this seq (all null without one; absent from queries without it). */
  c_node?: string | null;
  c_hash?: string | null;
  c_key?: string | null;
  c_sig?: string | null;
}

export function toJournalEntry(r: RawJournalRow): JournalEntry {
  const action = actionFromEntry(r.entry, r.effect_result ?? r.result);
  const entry: JournalEntry = { ...action, seq: r.seq, prev_hash: r.prev_hash, hash: r.hash };
  if (typeof r.c_sig === "string") {
    entry.checkpoint = {
      node: r.c_node ?? "",
      hash: r.c_hash ?? "",
      public_key: r.c_key ?? "",
      signature: r.c_sig,
    };
  }
  return entry;
}

/** `page` with every entry it returns also fed to `audit` (the checkpoint check rides the chain walk). */
export function auditedPages(
  page: (after: number, limit: number) => JournalEntry[],
  audit: CheckpointAudit,
): (after: number, limit: number) => JournalEntry[] {
  return (after, limit) => {
    const rows = page(after, limit);
    for (const e of rows) audit.add(e);
    return rows;
  };
}

/** Most entries read per page while walking the journal. */
const PAGE = 10_000;

/**
 * Verifies a whole journal read page by page (`page(after, limit)`), checking the link
 * between pages too. Names the first broken link.
 */
export function verifyPages(page: (after: number, limit: number) => JournalEntry[]): VerifyResult {
  let checked = 0;
  let last: JournalEntry | undefined;
  for (;;) {
    const rows = page(last?.seq ?? 0, PAGE);
    if (rows.length === 0) return { ok: true, checked };
    // Prepend the last verified entry so the link between pages is checked too.
    const run = last === undefined ? rows : [last, ...rows];
    const r = verifyChain(run, last === undefined ? {} : { anchor: last.prev_hash });
    const already = last === undefined ? 0 : 1;
    if (!r.ok) return { ...r, checked: checked + r.checked - already };
    checked += r.checked - already;
    last = rows[rows.length - 1];
  }
}

/** A state file opened read-only for its journal. Never writes, never migrates. */
export class JournalFile {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly page: Database.Statement;

  /** How it is read: in place (a live node's file) or from a private snapshot. */
  readonly mode: "in-place" | "snapshot";
  private readonly snapshotDir: string | null;

  private constructor(file: string, db: Database.Database, snapshotDir: string | null) {
    this.file = file;
    this.db = db;
    const signed = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_checkpoints'")
      .get();
    this.page = db.prepare(signed === undefined ? UNSIGNED_PAGE_SQL : JOURNAL_PAGE_SQL);
    this.snapshotDir = snapshotDir;
    this.mode = snapshotDir === null ? "in-place" : "snapshot";
  }

  /** `path`: a data_dir (its wdmesh.db is read) or a state file. Throws WDM_STATE_STORE. */
  static open(path: string): JournalFile {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, STATE_FILE_NAME) : path;
    if (!existsSync(file)) {
      throw storeError(`no state file at ${file}: give the node's data_dir or a copy of its wdmesh.db`, file);
    }
    const Driver = sqliteDriver(file);
    if (existsSync(`${file}-shm`)) {
      // A node has it open: SQLite readers never block its writer, and see its latest commits.
      let db: Database.Database | undefined;
      try {
        db = new Driver(file, { readonly: true, fileMustExist: true });
        db.pragma(`busy_timeout = ${STORE_DEFAULTS.busyTimeoutMs}`);
        return new JournalFile(file, db, null);
      } catch {
        db?.close(); // e.g. a read-only mount of a node's directory: read a snapshot instead
      }
    }
    const dir = mkdtempSync(join(tmpdir(), "wdmesh-audit-"));
    let db: Database.Database | undefined;
    try {
      const copy = join(dir, STATE_FILE_NAME);
      copyFileSync(file, copy);
      if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
      db = new Driver(copy, { fileMustExist: true });
      db.pragma("query_only = ON");
      return new JournalFile(file, db, dir);
    } catch (e) {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
      throw storeError(
        `state file ${file} cannot be read as a wdmesh journal: ${e instanceof Error ? e.message : String(e)}`,
        file,
        e,
      );
    }
  }

  /** Entries with seq > `after`, oldest first, at most `limit`. */
  entries(after = 0, limit = PAGE): JournalEntry[] {
    try {
      return (this.page.all(after, limit) as RawJournalRow[]).map(toJournalEntry);
    } catch (e) {
      throw storeError(
        `reading the journal of ${this.file} failed: ${e instanceof Error ? e.message : String(e)}`,
        this.file,
        e,
      );
    }
  }

  /** Verifies the chain; with `audit`, every entry is also fed to it (signed checkpoints). */
  verify(audit?: CheckpointAudit): VerifyResult {
    const page = (after: number, limit: number): JournalEntry[] => this.entries(after, limit);
    return verifyPages(audit ? auditedPages(page, audit) : page);
  }

  /** The newest entry's seq and hash (null for an empty journal). */
  head(): ChainHead | null {
    const row = this.db.prepare("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").get() as
      ChainHead | undefined;
    return row ?? null;
  }

  close(): void {
    this.db.close();
    if (this.snapshotDir !== null) rmSync(this.snapshotDir, { recursive: true, force: true });
  }
}
