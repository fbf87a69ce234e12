// The step ledger of one host: a SQLite file shared by every node on the host (daemons
// and embedded agents), under SQLite's own OS file lock. A step is taken in one short
// write transaction (BEGIN IMMEDIATE: read the peer's rows, decide with rules.ts, insert
// the step, give the next token) and finished in another; the step itself runs outside
// the lock. A lock held by a frozen process is waited for in short tries (the event loop
// is never blocked longer than one try) up to the step's own timeout, then the step is
// held. better-sqlite3 is loaded when a ledger is first opened, not when the library is
// imported.
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { sqliteDriver } from "../store/sqlite-driver.js";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Clock } from "../core/clock.js";
import { LEDGER_DEFAULTS } from "../core/defaults.js";
import { WatchdogError } from "../core/errors.js";
import { bootId } from "./boot.js";
import {
  decideClaim,
  stillRunning,
  type ClaimDecision,
  type LedgerTime,
  type EndedRow,
  type PeerRow,
  type StepClaim,
  type StepRow,
} from "./rules.js";

/** The host's step ledger (MonitorOptions.ledger; config node.ledger_dir). */
export interface LedgerOptions {
  /**
   * Directory of the ledger file, shared by every node of the host (created 0700, owned
   * by the watchdog's user). Default: the WDMESH_LEDGER_DIR environment variable, else
   * /run/wdmesh.
   */
  dir?: string;
}

/** Mode of the ledger directory: only its owner may enter it. */
export const LEDGER_DIR_MODE = 0o700;

export type ClaimAnswer =
  | ClaimDecision
  /** The ledger could not be read or written (locked past the wait, unusable): the step is held. */
  | { granted: false; rule: "unavailable"; by: string; reason: string };

export interface StepLedger {
  /** The ledger file. */
  readonly file: string;
  /** The peer's latest token (0 when none yet); undefined when the ledger cannot be read. */
  observe(peer: string): number | undefined;
  /** Takes the step or refuses it; waits for the lock at most `waitMs` (default: the step's timeout). */
  claim(c: StepClaim, waitMs?: number): Promise<ClaimAnswer>;
  /** The peer's step in flight now (started, not finished, before its deadline), if any; undefined when none or unreadable. */
  inFlight(peer: string): StepRow | undefined;
  /**
   * Records the outcome of a step this node took; the peer's token moves (evidence gathered
   * while the step ran is stale). False when it could not be written (it stays in flight
   * until its deadline).
   */
  finish(peer: string, effectId: string, outcome: string, waitMs: number): Promise<boolean>;
  /** Records that `incident` of `peer` ended: no step of it runs again, and every older token is stale. */
  endIncident(peer: string, incident: string, by: string, why: string, waitMs: number): Promise<boolean>;
  close(): void;
}

export function ledgerError(message: string, where: string, cause?: unknown): WatchdogError {
  return new WatchdogError("WDM_LEDGER", message, where, cause === undefined ? undefined : { cause });
}

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const isBusy = (e: unknown): boolean =>
  typeof e === "object" && e !== null && /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown }).code));

/**
 * The ledger directory: created 0700 when missing; one that is not a directory, not
 * owned by this user, or writable by group or others is refused (anyone who can write
 * there can forge or erase steps).
 */
export function ensureLedgerDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: LEDGER_DIR_MODE });
  } catch (e) {
    throw ledgerError(
      `the step ledger directory ${dir} cannot be created: ${msg(e)}. Create it (mkdir -p -m 0700 ${dir}) as the user the watchdog runs as, or set node.ledger_dir (library: ledger.dir) elsewhere.`,
      dir,
      e,
    );
  }
  const st = statSync(dir);
  if (!st.isDirectory())
    throw ledgerError(
      `the step ledger directory ${dir} is not a directory; set node.ledger_dir to a directory.`,
      dir,
    );
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw ledgerError(
      `the step ledger directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${uid}): every node of the host must run as the same user, or point node.ledger_dir at a directory of its own user.`,
      dir,
    );
  if ((st.mode & 0o022) !== 0)
    throw ledgerError(
      `the step ledger directory ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); run chmod 700 ${dir}.`,
      dir,
    );
}

type Db = BetterSqlite3.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS peers (peer TEXT PRIMARY KEY, token INTEGER NOT NULL, external INTEGER,
  last_by TEXT NOT NULL, last_what TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (peer TEXT NOT NULL, incident TEXT NOT NULL, step TEXT NOT NULL,
  effect_id TEXT NOT NULL, token INTEGER NOT NULL, holder TEXT NOT NULL, started_at INTEGER NOT NULL,
  deadline INTEGER NOT NULL, finished_at INTEGER, outcome TEXT, boot TEXT, deadline_mono REAL,
  PRIMARY KEY (peer, incident, step));
CREATE INDEX IF NOT EXISTS steps_unfinished ON steps (peer) WHERE finished_at IS NULL;
CREATE TABLE IF NOT EXISTS ended (peer TEXT NOT NULL, incident TEXT NOT NULL, ended_at INTEGER NOT NULL,
  by TEXT NOT NULL, why TEXT NOT NULL, PRIMARY KEY (peer, incident));
`;

interface RawStep {
  incident: string;
  step: string;
  effect_id: string;
  token: number;
  holder: string;
  started_at: number;
  deadline: number;
  finished_at: number | null;
  outcome: string | null;
  boot: string | null;
  deadline_mono: number | null;
}

const toStep = (r: RawStep): StepRow => ({
  incident: r.incident,
  step: r.step,
  effectId: r.effect_id,
  token: r.token,
  holder: r.holder,
  startedAt: r.started_at,
  deadline: r.deadline,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  boot: r.boot ?? null,
  deadlineMono: r.deadline_mono ?? null,
});

/** Columns a ledger file written by an earlier version lacks: added on open. */
const ADDED_STEP_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["boot", "TEXT"],
  ["deadline_mono", "REAL"],
];

function addMissingColumns(db: Db): void {
  const columns = db.pragma("table_info(steps)") as Array<{ name: string }>;
  const have = new Set(columns.map((c) => c.name));
  for (const [name, type] of ADDED_STEP_COLUMNS)
    if (!have.has(name)) db.exec(`ALTER TABLE steps ADD COLUMN ${name} ${type}`);
}

export interface SqliteLedgerOptions {
  /** Directory of the ledger file (created 0700). */
  dir: string;
  /**
   * now() for records, monotonic() for deadlines (the host's monotonic clock: the same
   * reading in every process of the host), sleep() between tries of a held lock.
   */
  clock: Pick<Clock, "now" | "monotonic" | "sleep">;
  /** Who takes the steps of this process (shown to whoever is refused). */
  holder: string;
}

/** Opens (creating when missing) the ledger file in `dir`. Throws WDM_LEDGER when it cannot be used. */
export function openSqliteLedger(o: SqliteLedgerOptions): StepLedger {
  ensureLedgerDir(o.dir);
  const file = join(o.dir, LEDGER_DEFAULTS.fileName);
  let db: Db;
  try {
    const Database = sqliteDriver(file);
    db = new Database(file, { timeout: LEDGER_DEFAULTS.busyTimeoutMs });
    chmodSync(file, 0o600);
  } catch (e) {
    throw ledgerError(`the step ledger ${file} cannot be opened: ${msg(e)}`, file, e);
  }
  // Schema and WAL mode, with a bounded wait for a peer process doing the same.
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.exec(SCHEMA);
      addMissingColumns(db);
      break;
    } catch (e) {
      if (!isBusy(e) || Date.now() > until) {
        db.close();
        throw ledgerError(`the step ledger ${file} cannot be initialised: ${msg(e)}`, file, e);
      }
    }
  }
  return new SqliteLedger(db, file, o);
}

class SqliteLedger implements StepLedger {
  private readonly q;

  constructor(
    private readonly db: Db,
    readonly file: string,
    private readonly o: SqliteLedgerOptions,
  ) {
    this.q = {
      token: db.prepare<[string], { token: number }>("SELECT token FROM peers WHERE peer = ?"),
      peer: db.prepare<
        [string],
        { token: number; external: number | null; last_by: string; last_what: string }
      >("SELECT token, external, last_by, last_what FROM peers WHERE peer = ?"),
      step: db.prepare<[string, string, string], RawStep>(
        "SELECT * FROM steps WHERE peer = ? AND incident = ? AND step = ?",
      ),
      unfinished: db.prepare<[string], RawStep>(
        "SELECT * FROM steps WHERE peer = ? AND finished_at IS NULL ORDER BY started_at DESC",
      ),
      ended: db.prepare<[string, string], { ended_at: number; by: string; why: string }>(
        "SELECT ended_at, by, why FROM ended WHERE peer = ? AND incident = ?",
      ),
      setPeer: db.prepare(
        `INSERT INTO peers (peer, token, external, last_by, last_what) VALUES (@peer, @token, @external, @by, @what)
         ON CONFLICT (peer) DO UPDATE SET token = @token, external = @external, last_by = @by, last_what = @what`,
      ),
      insertStep: db.prepare(
        `INSERT OR REPLACE INTO steps (peer, incident, step, effect_id, token, holder, started_at, deadline, boot, deadline_mono)
         VALUES (@peer, @incident, @step, @effectId, @token, @holder, @startedAt, @deadline, @boot, @deadlineMono)`,
      ),
      finish: db.prepare(
        "UPDATE steps SET finished_at = ?, outcome = ? WHERE peer = ? AND effect_id = ? AND finished_at IS NULL",
      ),
      end: db.prepare(
        "INSERT OR IGNORE INTO ended (peer, incident, ended_at, by, why) VALUES (?, ?, ?, ?, ?)",
      ),
      pruneSteps: db.prepare(
        "DELETE FROM steps WHERE peer = ? AND deadline < ? AND (finished_at IS NOT NULL OR deadline < ?)",
      ),
      pruneEnded: db.prepare("DELETE FROM ended WHERE peer = ? AND ended_at < ?"),
    };
  }

  observe(peer: string): number | undefined {
    try {
      return this.q.token.get(peer)?.token ?? 0;
    } catch {
      return undefined;
    }
  }

  /** Now, as the rules read it. */
  private time(): LedgerTime {
    return { wall: this.o.clock.now(), mono: this.o.clock.monotonic(), boot: bootId() };
  }

  inFlight(peer: string): StepRow | undefined {
    const t = this.time();
    try {
      return this.q.unfinished
        .all(peer)
        .map(toStep)
        .find((s) => stillRunning(s, t));
    } catch {
      return undefined;
    }
  }

  async claim(c: StepClaim, waitMs = c.timeoutMs): Promise<ClaimAnswer> {
    const out = await this.write(waitMs, () => {
      const t = this.time();
      const now = t.wall;
      const p = this.q.peer.get(c.peer);
      const peer: PeerRow | undefined = p
        ? { token: p.token, external: p.external, lastBy: p.last_by, lastWhat: p.last_what }
        : undefined;
      const existing = this.q.step.get(c.peer, c.incident, c.step);
      const ended = this.q.ended.get(c.peer, c.incident);
      const endedRow: EndedRow | undefined = ended
        ? { endedAt: ended.ended_at, by: ended.by, why: ended.why }
        : undefined;
      const d = decideClaim(
        {
          peer,
          existing: existing ? toStep(existing) : undefined,
          unfinished: this.q.unfinished.all(c.peer).map(toStep),
          ended: endedRow,
        },
        c,
        t,
      );
      if (!d.granted) return d;
      const old = now - LEDGER_DEFAULTS.retainMs;
      this.q.pruneSteps.run(c.peer, old, old);
      this.q.pruneEnded.run(c.peer, old);
      this.q.setPeer.run({
        peer: c.peer,
        token: d.token,
        external: c.external ?? peer?.external ?? null,
        by: c.holder,
        what: `${c.step} of incident ${c.incident}`,
      });
      this.q.insertStep.run({
        peer: c.peer,
        incident: c.incident,
        step: c.step,
        effectId: c.effectId,
        token: d.token,
        holder: c.holder,
        startedAt: now,
        deadline: now + c.timeoutMs,
        boot: t.boot,
        deadlineMono: t.mono + c.timeoutMs,
      });
      return d;
    });
    return out.ok ? out.value : { granted: false, rule: "unavailable", by: "unknown", reason: out.error };
  }

  async finish(peer: string, effectId: string, outcome: string, waitMs: number): Promise<boolean> {
    const out = await this.write(waitMs, () => {
      if (this.q.finish.run(this.o.clock.now(), outcome, peer, effectId).changes === 0) return;
      const p = this.q.peer.get(peer);
      this.q.setPeer.run({
        peer,
        token: (p?.token ?? 0) + 1,
        external: p?.external ?? null,
        by: this.o.holder,
        what: `the end of step ${effectId} (${outcome.slice(0, 80)})`,
      });
    });
    return out.ok;
  }

  async endIncident(
    peer: string,
    incident: string,
    by: string,
    why: string,
    waitMs: number,
  ): Promise<boolean> {
    const out = await this.write(waitMs, () => {
      const now = this.o.clock.now();
      if (this.q.end.run(peer, incident, now, by, why).changes === 0) return;
      const p = this.q.peer.get(peer);
      this.q.setPeer.run({
        peer,
        token: (p?.token ?? 0) + 1,
        external: p?.external ?? null,
        by,
        what: `the end of incident ${incident} (${why})`,
      });
    });
    return out.ok;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Runs `fn` in one write transaction, trying again every retryMs while another process
   * holds the lock, for at most `waitMs`.
   */
  private async write<T>(
    waitMs: number,
    fn: () => T,
  ): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    const started = this.o.clock.monotonic();
    const tx = this.db.transaction(fn);
    // Bounded in count too, should the clock not move (a fake one).
    const maxTries = Math.ceil(waitMs / LEDGER_DEFAULTS.retryMs) * 4 + 10;
    for (let tries = 1; ; tries++) {
      try {
        return { ok: true, value: tx.immediate() };
      } catch (e) {
        const waited = Math.round(this.o.clock.monotonic() - started);
        if (!isBusy(e))
          return { ok: false, error: `the step ledger ${this.file} cannot be written: ${msg(e)}` };
        if (waited >= waitMs || tries >= maxTries)
          return {
            ok: false,
            error: `the step ledger ${this.file} stayed locked by another process for ${waited} ms (${tries} tries; a node frozen inside it?)`,
          };
        await this.o.clock.sleep(LEDGER_DEFAULTS.retryMs);
      }
    }
  }
}
