// All durable state in one SQLite file (the state and journal of a node): peer ladder state, isolation records,
// effect intents, incidents, the hash-chained journal and the alert outbox.
// A transition (state + journal + outbox + effects + incidents) is one transaction.
import type { Logger } from "../core/logger.js";
import type { Clock } from "../core/clock.js";
import { systemClock } from "../schedule/clock.js";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { readIsolationRecord, type IsolationRecord } from "../core/isolation.js";
import type { Redactor } from "../core/redact.js";
import { InvalidOptionError, WatchdogError } from "../core/errors.js";
import type { LadderState } from "../core/ladder.js";
import type { ActionResult } from "../core/types.js";
import { SEVERITIES, SEVERITY_RANK } from "../core/types.js";
import { canonicalEntry, GENESIS_HASH, linkHash, type VerifyResult } from "./journal.js";
import {
  auditedPages,
  JOURNAL_PAGE_SQL,
  toJournalEntry,
  verifyPages,
  type RawJournalRow,
} from "./journal-file.js";
import { openDatabase, STATE_FILE_NAME, storeError, type SyncMode } from "./open.js";
import { actionFromEntry, OutboxTable } from "./outbox.js";
import { StateBuffer, STATE_FLUSH_DELAY_MS } from "./state-buffer.js";
import type {
  DeliveryState,
  EffectKind,
  EffectRecord,
  JournalEntry,
  MonitorStore,
  OpenIncident,
  OutboxPort,
  OutboxRow,
  PersistedPeer,
  SinkRoute,
  TransitionCommit,
} from "./types.js";
import { STORE_DEFAULTS } from "../core/defaults.js";
import type { Identity } from "../core/identity.js";
import { signCheckpoint, type CheckpointAudit, type JournalCheckpoint } from "./journal-signing.js";

/** pino-compatible subset. */
export interface SqliteStoreOptions {
  /** Routing of actions to alert sinks (outbox rows); setSinks() changes it (config reload). */
  sinks: SinkRoute[];
  /** This node's name; remembered in the file, a mismatch on reopen is logged. */
  node: string;
  logger?: Pick<Logger, "warn">;
  /** SQLite synchronous pragma. FULL (default): a commit is on disk when commit() returns. */
  synchronous?: SyncMode;
  /** Time of commits (epoch ms via now()); tests pass a fake clock. Default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** Longest time a saveState() change waits before it is written, ms. Default 1000. */
  stateFlushMs?: number;
  /**
   * Hides secret values in everything written: journal entries, outbox payloads, effect
   * results and delivery errors (a receiver may echo the request, routing key and all).
   */
  redactor?: Pick<Redactor, "text" | "value">;
  /**
   * This node's identity (node.identity): with it, every commit that appends entries also
   * signs the new head (node, seq, hash) in the same transaction (journal-signing.ts).
   */
  identity?: Pick<Identity, "publicKey" | "sign">;
}

/** Default and maximum number of entries `journal()` returns. */
export const JOURNAL_PAGE_DEFAULT: number = STORE_DEFAULTS.journalPageRows;
export const JOURNAL_PAGE_MAX = 10_000;

interface RawEffectRow {
  id: string;
  peer: string;
  kind: EffectKind;
  attempt: number;
  status: "pending" | "done";
  result: string | null;
  against: string | null;
  /** Only selected by pendingEffects. */
  created_at?: number;
}

function toEffect(r: RawEffectRow): EffectRecord {
  return {
    id: r.id,
    peer: r.peer,
    kind: r.kind,
    attempt: r.attempt,
    status: r.status,
    result: r.result === null ? null : (JSON.parse(r.result) as ActionResult),
    against: r.against ?? null,
    ...(r.created_at === undefined ? {} : { createdAt: r.created_at }),
  };
}

function validateSinks(sinks: readonly SinkRoute[]): void {
  const seen = new Set<string>();
  for (const [i, s] of sinks.entries()) {
    if (typeof s.name !== "string" || s.name === "")
      throw new InvalidOptionError(`sinks[${i}].name`, "must be a non-empty string");
    if (seen.has(s.name))
      throw new InvalidOptionError(
        `sinks[${i}].name`,
        `duplicate sink name "${s.name}"; names must be unique`,
      );
    if (!(s.minSeverity in SEVERITY_RANK)) {
      throw new InvalidOptionError(
        `sinks[${i}].minSeverity`,
        `must be one of ${SEVERITIES.join(", ")} (got ${String(s.minSeverity)})`,
      );
    }
    seen.add(s.name);
  }
}

export class SqliteStore implements MonitorStore, OutboxPort {
  /** Path of the SQLite file (":memory:" in tests). */
  readonly file: string;
  private readonly db: Database.Database;
  private readonly outbox: OutboxTable;
  private readonly buffer: StateBuffer;
  private readonly clock: Pick<Clock, "now">;
  private readonly logger: Pick<Logger, "warn"> | undefined;
  private readonly redactor: Pick<Redactor, "text" | "value"> | undefined;
  private readonly identity: Pick<Identity, "publicKey" | "sign"> | undefined;
  private readonly node: string;
  private readonly appendListeners = new Set<() => void>();
  private readonly effectListeners = new Set<(effectId: string) => void>();
  private readonly journalListeners = new Set<(e: JournalEntry) => void>();
  private closed = false;

  private readonly s: Record<
    | "upsertPeer"
    | "loadPeers"
    | "journalHead"
    | "insertJournal"
    | "insertCheckpoint"
    | "checkpointAt"
    | "journalPage"
    | "insertEffect"
    | "effect"
    | "pendingEffects"
    | "finishEffect"
    | "isolation"
    | "upsertIsolation"
    | "deleteIsolation"
    | "openIncident"
    | "closeIncident"
    | "closePeerIncidents"
    | "openIncidents",
    Database.Statement
  >;
  private readonly commitTx: Database.Transaction<
    (t: TransitionCommit, now: number) => { entries: JournalEntry[]; outboxRows: number }
  >;
  private readonly deliveredTx: Database.Transaction<
    (marks: ReadonlyArray<{ seq: number; at: number }>) => void
  >;
  private readonly journalTx: Database.Transaction<(after: number, limit: number) => JournalEntry[]>;
  private readonly flushTx: Database.Transaction<
    (batch: ReadonlyMap<string, LadderState>, now: number) => void
  >;
  private readonly effectTx: Database.Transaction<
    (id: string, result: ActionResult, isolation: IsolationRecord | null | undefined, now: number) => void
  >;

  /** Opens (creating when needed) `<dataDir>/wdmesh.db` (dataDir ":memory:": a private in-memory database). Throws WDM_STATE_STORE when it cannot be used. */
  static open(opts: SqliteStoreOptions & { dataDir: string }): SqliteStore {
    if (opts.dataDir === ":memory:") return SqliteStore.openFile(":memory:", opts);
    return SqliteStore.openFile(join(opts.dataDir, STATE_FILE_NAME), opts);
  }

  /** Opens a store at an exact path; ":memory:" for tests. */
  static openFile(file: string, opts: SqliteStoreOptions): SqliteStore {
    validateSinks(opts.sinks);
    const db = openDatabase(file, { synchronous: opts.synchronous ?? "FULL" });
    try {
      return new SqliteStore(db, file, opts);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private constructor(db: Database.Database, file: string, opts: SqliteStoreOptions) {
    this.db = db;
    this.file = file;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.redactor = opts.redactor;
    this.identity = opts.identity;
    this.node = opts.node;
    this.outbox = new OutboxTable(db, file, opts.sinks);
    this.buffer = new StateBuffer(
      (batch) => this.flushTx.immediate(batch, this.clock.now()),
      (err) =>
        this.logger?.warn({ err: String(err), file }, "writing buffered peer state failed; will retry"),
      opts.stateFlushMs ?? STATE_FLUSH_DELAY_MS,
    );
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.s = {
      upsertPeer: p(
        `INSERT INTO peers (name, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      ),
      loadPeers: p(
        `SELECT p.name, p.state, i.record, i.effect_id FROM peers p LEFT JOIN isolations i ON i.peer = p.name ORDER BY p.name`,
      ),
      journalHead: p(`SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`),
      insertJournal: p(
        `INSERT INTO journal (seq, id, peer, entry, prev_hash, hash, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertCheckpoint: p(
        `INSERT INTO journal_checkpoints (seq, node, hash, public_key, signature, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      checkpointAt: p(`SELECT 1 FROM journal_checkpoints WHERE seq = ?`),
      journalPage: p(JOURNAL_PAGE_SQL),
      insertEffect: p(
        `INSERT INTO effects (id, peer, kind, attempt, status, result, created_at, against) VALUES (?, ?, ?, ?, 'pending', NULL, ?, ?)`,
      ),
      effect: p(`SELECT id, peer, kind, attempt, status, result, against FROM effects WHERE id = ?`),
      pendingEffects: p(
        `SELECT id, peer, kind, attempt, status, result, against, created_at FROM effects WHERE status = 'pending' ORDER BY created_at, rowid`,
      ),
      finishEffect: p(`UPDATE effects SET status = 'done', result = ?, done_at = ? WHERE id = ?`),
      isolation: p(`SELECT record FROM isolations WHERE peer = ?`),
      upsertIsolation: p(
        `INSERT INTO isolations (peer, record, effect_id, applied_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET record = excluded.record, effect_id = excluded.effect_id, applied_at = excluded.applied_at`,
      ),
      deleteIsolation: p(`DELETE FROM isolations WHERE peer = ?`),
      openIncident: p(
        `INSERT INTO incidents (id, peer, opened_at, closed_at, last_seq) VALUES (?, ?, ?, NULL, ?)
         ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq`,
      ),
      closeIncident: p(`UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL`),
      closePeerIncidents: p(`UPDATE incidents SET closed_at = ? WHERE peer = ? AND closed_at IS NULL`),
      openIncidents: p(
        `SELECT i.id, i.peer, i.opened_at, j.seq, j.entry, j.prev_hash, j.hash, j.result, e.result AS effect_result
         FROM incidents i JOIN journal j ON j.seq = i.last_seq
         LEFT JOIN effects e ON e.id = j.id AND e.status = 'done'
         WHERE i.closed_at IS NULL ORDER BY i.opened_at, i.id`,
      ),
    };

    this.commitTx = db.transaction((t: TransitionCommit, now: number) => {
      if (t.state !== undefined) this.s.upsertPeer.run(t.peer, JSON.stringify(t.state), now);
      const head = this.s.journalHead.get() as { seq: number; hash: string } | undefined;
      let seq = head?.seq ?? 0;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const peerJson = JSON.stringify(t.snapshot);
      const entries: JournalEntry[] = [];
      let outboxRows = 0;
      for (const a of t.actions) {
        const canonical = canonicalEntry(a);
        const hash = linkHash(prevHash, canonical);
        seq++;
        const result = a.result === undefined ? null : JSON.stringify(a.result);
        this.s.insertJournal.run(seq, a.id, a.peer_name, canonical, prevHash, hash, result, now);
        const sinks = this.outbox.append(a, seq, peerJson, now);
        outboxRows += sinks.length;
        entries.push({
          ...a,
          seq,
          prev_hash: prevHash,
          hash,
          deliveries: sinks.map((sink) => ({ sink, state: "pending", attempts: 0, last_error: null })),
        });
        prevHash = hash;
        if (a.incident_id !== null) {
          const opened = Date.parse(a.timestamp);
          this.s.openIncident.run(a.incident_id, a.peer_name, Number.isFinite(opened) ? opened : now, seq);
        }
        if (a.action === "release") this.s.closePeerIncidents.run(now, a.peer_name);
        else if (
          (a.action === "recovered" || a.action === "self_recovered" || a.action === "store_recovered") &&
          a.incident_id !== null
        )
          this.s.closeIncident.run(now, a.incident_id);
      }
      for (const e of t.effects)
        this.s.insertEffect.run(e.id, t.peer, e.kind, e.attempt, now, e.against ?? null);
      const last = entries.at(-1);
      if (last !== undefined && this.identity) last.checkpoint = this.signHead(last.seq, last.hash, now);
      return { entries, outboxRows };
    });

    this.deliveredTx = db.transaction((marks: ReadonlyArray<{ seq: number; at: number }>) => {
      for (const m of marks) this.outbox.markDelivered(m.seq, m.at);
    });

    // One read transaction, so a page of entries and their deliveries are one snapshot.
    this.journalTx = db.transaction((after: number, limit: number) => {
      const rows = this.s.journalPage.all(after, limit) as RawJournalRow[];
      const first = rows[0];
      const last = rows.at(-1);
      if (first === undefined || last === undefined) return [];
      const deliveries = this.outbox.deliveries(first.seq, last.seq);
      return rows.map((r) => ({ ...toJournalEntry(r), deliveries: deliveries.get(r.seq) ?? [] }));
    });

    this.flushTx = db.transaction((batch: ReadonlyMap<string, LadderState>, now: number) => {
      for (const [peer, state] of batch) this.s.upsertPeer.run(peer, JSON.stringify(state), now);
    });

    this.effectTx = db.transaction(
      (id: string, result: ActionResult, isolation: IsolationRecord | null | undefined, now: number) => {
        const row = this.s.effect.get(id) as RawEffectRow | undefined;
        if (row === undefined) {
          throw storeError(
            `state file ${this.file}: recordEffectResult: no effect with id ${id} (only effects committed with their transition can be finished).`,
            this.file,
          );
        }
        if (row.status === "done") return; // idempotent: the first recorded result stands
        this.s.finishEffect.run(JSON.stringify(result), now, id);
        if (row.kind === "isolate" && isolation) {
          this.s.upsertIsolation.run(row.peer, JSON.stringify(isolation), id, now);
        } else if (row.kind === "release" && result.ok) {
          this.s.deleteIsolation.run(row.peer);
        }
      },
    );

    if (this.identity) this.signUnsignedHead();
    db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('node', ?)`).run(opts.node);
    const stored = (db.prepare(`SELECT value FROM meta WHERE key = 'node'`).get() as { value: string }).value;
    if (stored !== opts.node) {
      this.logger?.warn(
        { file, stored_node: stored, node: opts.node },
        "state file was written by a node with another name; continuing with its state",
      );
    }
  }

  /** Signs the chain at `seq` (its hash `hash`) and stores the checkpoint. Inside a transaction. */
  private signHead(seq: number, hash: string, now: number): JournalCheckpoint {
    const c = signCheckpoint(this.identity as Pick<Identity, "publicKey" | "sign">, this.node, seq, hash);
    this.s.insertCheckpoint.run(seq, c.node, c.hash, c.public_key, c.signature, now);
    return c;
  }

  /**
   * On open with an identity: signs the head when no checkpoint covers it (entries written
   * before the node had an identity), so every entry in the file is covered from now on.
   */
  private signUnsignedHead(): void {
    this.db
      .transaction(() => {
        const head = this.s.journalHead.get() as { seq: number; hash: string } | undefined;
        if (head === undefined || this.s.checkpointAt.get(head.seq) !== undefined) return;
        this.signHead(head.seq, head.hash, this.clock.now());
      })
      .immediate();
  }

  private live(op: string): void {
    if (this.closed)
      throw storeError(`state store ${this.file} is closed; ${op} is not possible after close().`, this.file);
  }

  private wrap<T>(op: string, fn: () => T): T {
    this.live(op);
    try {
      return fn();
    } catch (e) {
      if (e instanceof WatchdogError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw storeError(
        `state file ${this.file}: ${op} failed: ${msg}. Nothing of this operation was written.`,
        this.file,
        e,
      );
    }
  }

  private emit<A extends unknown[]>(
    listeners: Iterable<(...args: A) => void>,
    kind: string,
    ...args: A
  ): void {
    for (const l of [...listeners]) {
      try {
        l(...args);
      } catch (e) {
        this.logger?.warn({ err: String(e), listener: kind }, "store listener threw; ignored");
      }
    }
  }

  // ---- MonitorStore ----

  loadPeers(): PersistedPeer[] {
    this.flush();
    return this.wrap("loadPeers", () =>
      (
        this.s.loadPeers.all() as Array<{
          name: string;
          state: string;
          record: string | null;
          effect_id: string | null;
        }>
      ).map((r) => ({
        name: r.name,
        state: JSON.parse(r.state) as LadderState,
        isolation: r.record === null ? null : readIsolationRecord(JSON.parse(r.record)),
        isolationId: r.record === null ? null : r.effect_id,
      })),
    );
  }

  commit(commit: TransitionCommit): void {
    const r = this.redactor;
    const t = r
      ? {
          ...commit,
          state: r.value(commit.state),
          actions: r.value(commit.actions),
          snapshot: r.value(commit.snapshot),
        }
      : commit;
    const { entries, outboxRows } = this.wrap(`commit of a transition of peer "${t.peer}"`, () =>
      this.commitTx.immediate(t, this.clock.now()),
    );
    if (t.state !== undefined) this.buffer.drop(t.peer);
    if (outboxRows > 0) this.emit(this.appendListeners, "onAppend");
    for (const e of entries) this.emit(this.journalListeners, "onJournal", e);
  }

  saveState(peer: string, state: LadderState): void {
    this.live("saveState");
    this.buffer.set(peer, this.redactor ? this.redactor.value(state) : state);
  }

  recordEffectResult(effectId: string, result: ActionResult, isolation?: IsolationRecord | null): void {
    const safe = this.redactor ? this.redactor.value(result) : result;
    this.wrap(`recordEffectResult of effect ${effectId}`, () =>
      this.effectTx.immediate(effectId, safe, isolation, this.clock.now()),
    );
    this.emit(this.effectListeners, "onEffectResult", effectId);
  }

  pendingEffects(): EffectRecord[] {
    return this.wrap("pendingEffects", () => (this.s.pendingEffects.all() as RawEffectRow[]).map(toEffect));
  }

  effect(effectId: string): EffectRecord | undefined {
    return this.wrap("effect", () => {
      const r = this.s.effect.get(effectId) as RawEffectRow | undefined;
      return r === undefined ? undefined : toEffect(r);
    });
  }

  isolation(peer: string): IsolationRecord | null {
    return this.wrap("isolation", () => {
      const r = this.s.isolation.get(peer) as { record: string } | undefined;
      return r === undefined ? null : readIsolationRecord(JSON.parse(r.record));
    });
  }

  flush(): void {
    this.wrap("flush of buffered peer state", () => this.buffer.flush());
  }

  /** Idempotent. Writes buffered state, stops the flush timer, closes the file. */
  close(): void {
    if (this.closed) return;
    try {
      this.buffer.flush();
    } catch (e) {
      this.logger?.warn({ err: String(e), file: this.file }, "final write of buffered peer state failed");
    }
    this.buffer.stop();
    this.closed = true;
    this.appendListeners.clear();
    this.effectListeners.clear();
    this.journalListeners.clear();
    this.db.close();
  }

  // ---- Journal ----

  /**
   * Entries with seq > `after` (default 0), oldest first, at most `limit` (default 1000,
   * max 10 000); each with its effect's result and its `deliveries` (outbox state per sink).
   */
  journal(after = 0, limit = JOURNAL_PAGE_DEFAULT): JournalEntry[] {
    const n = Math.min(JOURNAL_PAGE_MAX, Math.max(1, Math.floor(limit)));
    return this.wrap("journal", () => this.journalTx(Math.max(0, Math.floor(after)), n));
  }

  /** The latest entry's seq and hash, or null when the journal is empty. */
  journalHead(): { seq: number; hash: string } | null {
    return this.wrap(
      "journalHead",
      () => (this.s.journalHead.get() as { seq: number; hash: string } | undefined) ?? null,
    );
  }

  /** Called with every entry appended, after its transaction committed. Returns unsubscribe. */
  onJournal(listener: (e: JournalEntry) => void): () => void {
    this.journalListeners.add(listener);
    return () => this.journalListeners.delete(listener);
  }

  /** Verifies the whole journal's hash chain, page by page; with `audit`, its signed checkpoints too. */
  verifyJournal(audit?: CheckpointAudit): VerifyResult {
    const page = (after: number, limit: number): JournalEntry[] => this.journal(after, limit);
    return verifyPages(audit ? auditedPages(page, audit) : page);
  }

  // ---- OutboxPort ----

  /** Routes actions committed from now on to these sinks (config reload). */
  setSinks(sinks: SinkRoute[]): void {
    validateSinks(sinks);
    this.outbox.setRoutes(sinks);
  }

  /** Gives up every pending alert of a sink (removed from the config) with `reason`; returns how many. */
  deadLetterSink(sink: string, reason: string): number {
    return this.wrap(`dead-lettering the pending alerts of sink "${sink}"`, () =>
      this.outbox.deadLetterSink(sink, reason, this.clock.now()),
    );
  }

  head(sink: string, afterSeq?: number): OutboxRow | undefined {
    return this.wrap("outbox head", () => this.outbox.head(sink, afterSeq));
  }

  markDelivered(seq: number, now: number): void {
    this.wrap("outbox markDelivered", () => this.outbox.markDelivered(seq, now));
  }

  /** All marks in one transaction: all are written or none. */
  markDeliveredMany(marks: ReadonlyArray<{ seq: number; at: number }>): void {
    if (marks.length === 0) return;
    this.wrap(`outbox markDelivered of ${marks.length} rows`, () => this.deliveredTx.immediate(marks));
  }

  markRetry(seq: number, nextAttemptAt: number, error: string): void {
    const safe = this.redactor ? this.redactor.text(error) : error;
    this.wrap("outbox markRetry", () => this.outbox.markRetry(seq, nextAttemptAt, safe));
  }

  markDead(seq: number, reason: string, now: number): void {
    const safe = this.redactor ? this.redactor.text(reason) : reason;
    this.wrap("outbox markDead", () => this.outbox.markDead(seq, safe, now));
  }

  list(filter: { state?: DeliveryState; sink?: string; limit?: number }): OutboxRow[] {
    return this.wrap("outbox list", () => this.outbox.list(filter));
  }

  depth(): Record<string, { pending: number; dead: number }> {
    return this.wrap("outbox depth", () => this.outbox.depth());
  }

  openIncidents(): OpenIncident[] {
    return this.wrap("openIncidents", () =>
      (
        this.s.openIncidents.all() as Array<RawJournalRow & { id: string; peer: string; opened_at: number }>
      ).map((r) => ({
        incident_id: r.id,
        peer: r.peer,
        opened_at: r.opened_at,
        last_action: actionFromEntry(r.entry, r.effect_result ?? r.result),
      })),
    );
  }

  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  onEffectResult(listener: (effectId: string) => void): () => void {
    this.effectListeners.add(listener);
    return () => this.effectListeners.delete(listener);
  }
}
