// Opening the state file safely. Before SQLite is allowed to write anything, the
// directory and the existing file are checked; a problem throws WDM_STATE_STORE with a
// message naming the file, what is wrong and what to do. The existing file is never
// deleted, truncated or overwritten: an operator decides what to do with it.
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { sqliteDriver } from "./sqlite-driver.js";
import { WatchdogError } from "../core/errors.js";
import { migrate, SCHEMA_VERSION } from "./migrations.js";
import { STORE_DEFAULTS } from "../core/defaults.js";

/** Name of the state file inside data_dir. */
export const STATE_FILE_NAME = "wdmesh.db";

export type SyncMode = "FULL" | "NORMAL";

export interface OpenDbOptions {
  /** SQLite `synchronous` pragma. FULL (default): each commit is fsynced before it returns. */
  synchronous?: SyncMode;
  /** How long a writer waits for a lock held by another connection, ms. Default 5000. */
  busyTimeoutMs?: number;
}

const SQLITE_MAGIC = "SQLite format 3\0";
const SQLITE_HEADER_BYTES = 100;

const LEFT_ALONE = "The file was left untouched.";
const MOVE_ASIDE = (file: string): string =>
  `Restore it from a backup, or move it aside (mv ${file} ${file}.bad) to start with empty state, or point node.data_dir at another directory.`;

export function storeError(message: string, file: string, cause?: unknown): WatchdogError {
  return new WatchdogError("WDM_STATE_STORE", message, file, cause === undefined ? undefined : { cause });
}

function errCode(e: unknown): string {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "";
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Mode of data_dir: only the watchdog's user may list or enter it. */
export const DATA_DIR_MODE = 0o700;
/** Mode of the state file and its -wal and -shm files. */
export const STATE_FILE_MODE = 0o600;

/**
 * data_dir: created (mode 0700) when missing; must be a writable directory. An existing
 * one writable by group or others is refused (anyone in that group could swap the
 * state file); one merely readable by them is tightened to 0700.
 */
export function ensureDataDir(dir: string): void {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) {
      throw storeError(
        `data_dir ${dir} exists but is not a directory. Set node.data_dir to a directory.`,
        dir,
      );
    }
  } catch (e) {
    if (e instanceof WatchdogError) throw e;
    if (errCode(e) !== "ENOENT") {
      throw storeError(
        `data_dir ${dir} cannot be inspected: ${errMessage(e)}. Check its path and permissions.`,
        dir,
        e,
      );
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e2) {
      throw storeError(
        `data_dir ${dir} does not exist and cannot be created: ${errMessage(e2)}. ` +
          `Create it (mkdir -p -m 0700 ${dir}) as the user the watchdog runs as, or set node.data_dir elsewhere.`,
        dir,
        e2,
      );
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw storeError(
      `data_dir ${dir} is not writable by this process (uid ${process.getuid?.() ?? "?"}): ${errMessage(e)}. ` +
        `SQLite needs to create ${STATE_FILE_NAME}, its -wal and -shm files there: fix the owner/permissions or set node.data_dir elsewhere.`,
      dir,
      e,
    );
  }
  restrictDataDir(dir);
}

/** Refuses a data_dir writable by group or others; tightens one readable by them to 0700. */
function restrictDataDir(dir: string): void {
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw storeError(
      `data_dir ${dir} is writable by ${(mode & 0o020) !== 0 ? "its group" : "others"} (mode ${mode.toString(8).padStart(4, "0")}), ` +
        `so another user could replace the state file. Run chmod 0700 ${dir} (as its owner), or set node.data_dir to a directory only the watchdog's user can write.`,
      dir,
    );
  }
  if ((mode & 0o077) !== 0) {
    try {
      chmodSync(dir, DATA_DIR_MODE);
    } catch (e) {
      throw storeError(
        `data_dir ${dir} is readable by other users (mode ${mode.toString(8).padStart(4, "0")}) and cannot be tightened to 0700: ${errMessage(e)}. Run chmod 0700 ${dir} as its owner.`,
        dir,
        e,
      );
    }
  }
}

/** Checks an existing state file's header without letting SQLite touch it. */
function checkExistingFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    if (errCode(e) === "ENOENT") return;
    throw storeError(
      `state file ${file} cannot be inspected: ${errMessage(e)}. Check its permissions.`,
      file,
      e,
    );
  }
  if (!st.isFile()) {
    throw storeError(
      `state file ${file} is not a regular file. Move it away or set node.data_dir elsewhere.`,
      file,
    );
  }
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw storeError(
      `state file ${file} is not readable and writable by this process (uid ${process.getuid?.() ?? "?"}): ${errMessage(e)}. ` +
        `Fix its owner/permissions (it must belong to the user the watchdog runs as). ${LEFT_ALONE}`,
      file,
      e,
    );
  }
  if (st.size === 0) return; // an empty file is an empty database
  const header = Buffer.alloc(SQLITE_HEADER_BYTES);
  let n = 0;
  const fd = openSync(file, "r");
  try {
    n = readSync(fd, header, 0, SQLITE_HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (header.subarray(0, 16).toString("latin1") !== SQLITE_MAGIC) {
    throw storeError(
      `state file ${file} is not a SQLite database (its first bytes are not "SQLite format 3"). ${LEFT_ALONE} ${MOVE_ASIDE(file)}`,
      file,
    );
  }
  if (n < SQLITE_HEADER_BYTES) {
    throw storeError(
      `state file ${file} is truncated (${st.size} bytes, shorter than the 100-byte SQLite header). ${LEFT_ALONE} ${MOVE_ASIDE(file)}`,
      file,
    );
  }
  // Page size (offset 16, big-endian; 1 means 65536) and the in-header page count
  // (offset 28), which is valid when the change counter (24) equals offset 92.
  // Not while a write-ahead log is beside the file: a crash in the middle of a
  // checkpoint leaves page 1 (with the new size) written before the file grew, and
  // SQLite completes that checkpoint from the WAL on open; quick_check judges then.
  const rawPage = header.readUInt16BE(16);
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  const pages = header.readUInt32BE(28);
  const walPending = existsSync(`${file}-wal`) && statSync(`${file}-wal`).size > 0;
  if (
    !walPending &&
    header.readUInt32BE(24) === header.readUInt32BE(92) &&
    pages > 0 &&
    st.size < pages * pageSize
  ) {
    throw storeError(
      `state file ${file} is truncated: ${st.size} bytes, but its header says ${pages} pages of ${pageSize} bytes (${pages * pageSize} bytes). ` +
        `${LEFT_ALONE} ${MOVE_ASIDE(file)}`,
      file,
    );
  }
}

function applyPragmas(db: Database.Database, file: string, opts: OpenDbOptions): void {
  const mode = db.pragma("journal_mode = WAL", { simple: true }) as string;
  if (file !== ":memory:" && mode.toLowerCase() !== "wal") {
    throw storeError(
      `state file ${file}: cannot switch to WAL journal mode (got ${mode}). Use a local filesystem for node.data_dir.`,
      file,
    );
  }
  db.pragma(`synchronous = ${opts.synchronous ?? "FULL"}`);
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? STORE_DEFAULTS.busyTimeoutMs))}`);
  db.pragma("foreign_keys = ON");
}

/** The state file, its WAL and SHM: 0600 whatever mode they had before (they hold the journal). */
function restrictStateFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, STATE_FILE_MODE);
    } catch (e) {
      if (errCode(e) === "ENOENT") continue;
      throw storeError(
        `state file ${f} cannot be made private (mode 0600): ${errMessage(e)}. Fix its owner.`,
        f,
        e,
      );
    }
  }
}

/**
 * Opens (creating when missing) the state database at `file` (":memory:" for tests),
 * checks it (header, `PRAGMA quick_check`, schema version), sets the pragmas and
 * applies migrations. Throws WDM_STATE_STORE on any problem; never alters a file it
 * refuses.
 */
export function openDatabase(file: string, opts: OpenDbOptions = {}): Database.Database {
  if (file === ":memory:") {
    const db = new (sqliteDriver(file))(":memory:");
    applyPragmas(db, file, opts);
    migrate(db);
    return db;
  }
  ensureDataDir(dirname(file));
  checkExistingFile(file);
  const Driver = sqliteDriver(file);
  let db: Database.Database;
  try {
    db = new Driver(file);
  } catch (e) {
    throw storeError(
      `state file ${file} cannot be opened: ${errMessage(e)}. Check the file and its directory permissions.`,
      file,
      e,
    );
  }
  try {
    restrictStateFiles(file);
    let problems: string[];
    try {
      problems = (db.pragma("quick_check(5)") as Array<Record<string, string>>).map(
        (r) => Object.values(r)[0] ?? "",
      );
    } catch (e) {
      const code = errCode(e);
      const what =
        code === "SQLITE_NOTADB"
          ? "is not a SQLite database"
          : code === "SQLITE_CORRUPT"
            ? "is corrupted"
            : "cannot be read";
      throw storeError(
        `state file ${file} ${what} (${errMessage(e)}). ${LEFT_ALONE} ${MOVE_ASIDE(file)}`,
        file,
        e,
      );
    }
    if (problems.length !== 1 || problems[0] !== "ok") {
      throw storeError(
        `state file ${file} is corrupted: PRAGMA quick_check reports ${problems.slice(0, 5).join("; ")}. ${LEFT_ALONE} ${MOVE_ASIDE(file)}`,
        file,
      );
    }
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw storeError(
        `state file ${file} has schema version ${version}, written by a newer watchdog-mesh; this version understands up to ${SCHEMA_VERSION}. ` +
          `Run the newer version, or point node.data_dir elsewhere. ${LEFT_ALONE}`,
        file,
      );
    }
    applyPragmas(db, file, opts);
    restrictStateFiles(file);
    try {
      migrate(db);
    } catch (e) {
      throw storeError(
        `state file ${file}: schema migration failed: ${errMessage(e)}. The previous schema version is intact.`,
        file,
        e,
      );
    }
    return db;
  } catch (e) {
    db.close();
    if (e instanceof WatchdogError) throw e;
    throw storeError(
      `state file ${file} cannot be used: ${errMessage(e)}. Check the file and its directory permissions.`,
      file,
      e,
    );
  }
}
