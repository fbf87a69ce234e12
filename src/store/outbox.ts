// The durable outbox table: rows are written in the transition's transaction (see
// sqlite-store.ts) and consumed per sink, in seq order, by the delivery workers.
import type Database from "better-sqlite3";
import type { ActionResult, EscalationAction, PeerHealth } from "../core/types.js";
import { RESOLVING_ACTIONS, SEVERITY_RANK } from "../core/types.js";
import type { DeliveryState, JournalDelivery, OutboxRow, SinkRoute } from "./types.js";
import { storeError } from "./open.js";
import { STORE_DEFAULTS } from "../core/defaults.js";

/** Default and maximum number of rows `list` returns. */
export const OUTBOX_LIST_DEFAULT = STORE_DEFAULTS.outboxListRows;
export const OUTBOX_LIST_MAX = 10_000;

/** An OutboxRow as SELECT_ROW reads it: the action and the peer still as stored JSON. */
interface RawOutboxRow extends Omit<OutboxRow, "action" | "peer"> {
  action_id: string;
  peer: string;
  entry: string;
  effect_result: string | null;
  journal_seq: number;
  journal_hash: string;
}

const SELECT_ROW = `
  SELECT o.seq, o.sink, o.action_id, o.peer, o.state, o.attempts, o.created_at, o.next_attempt_at,
         o.delivered_at, o.last_error, j.entry, e.result AS effect_result,
         j.seq AS journal_seq, j.hash AS journal_hash
  FROM outbox o
  JOIN journal j ON j.seq = o.journal_seq
  LEFT JOIN effects e ON e.id = o.action_id AND e.status = 'done'`;

/** An action as stored in the journal, with its effect's result when recorded. */
export function actionFromEntry(entry: string, effectResult: string | null): EscalationAction {
  const action = JSON.parse(entry) as EscalationAction;
  if (effectResult !== null) action.result = JSON.parse(effectResult) as ActionResult;
  return action;
}

function toRow(r: RawOutboxRow): OutboxRow {
  return {
    seq: r.seq,
    sink: r.sink,
    // The journal head this alert was written after: a witness for every receiver.
    action: {
      ...actionFromEntry(r.entry, r.effect_result),
      journal: { seq: r.journal_seq, hash: r.journal_hash },
    },
    peer: JSON.parse(r.peer) as PeerHealth,
    state: r.state,
    attempts: r.attempts,
    created_at: r.created_at,
    next_attempt_at: r.next_attempt_at,
    delivered_at: r.delivered_at,
    last_error: r.last_error,
  };
}

/**
 * Sinks an action is routed to: those whose min_severity it meets and, for a
 * resolving action (recovered, release, self_recovered), also every sink that received an action of
 * the same incident — so a HIGH-only sink that was told "restart" is told "recovered".
 */
export function routeAction(
  routes: readonly SinkRoute[],
  action: EscalationAction,
  reachedByIncident: ReadonlySet<string> = new Set(),
): SinkRoute[] {
  const rank = SEVERITY_RANK[action.severity];
  const resolving = RESOLVING_ACTIONS.has(action.action);
  return routes.filter(
    (r) => rank >= SEVERITY_RANK[r.minSeverity] || (resolving && reachedByIncident.has(r.name)),
  );
}

export class OutboxTable {
  private readonly insertStmt: Database.Statement;
  private readonly headStmt: Database.Statement;
  private readonly deliveredStmt: Database.Statement;
  private readonly retryStmt: Database.Statement;
  private readonly deadStmt: Database.Statement;
  private readonly existsStmt: Database.Statement;
  private readonly depthStmt: Database.Statement;
  private readonly listStmt: Database.Statement;
  private readonly incidentSinksStmt: Database.Statement;
  private readonly deliveriesStmt: Database.Statement;
  private readonly deadSinkStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly file: string,
    private routes: readonly SinkRoute[],
  ) {
    this.deadSinkStmt = db.prepare(
      `UPDATE outbox SET state = 'dead', dead_at = ?, last_error = ? WHERE sink = ? AND state = 'pending'`,
    );
    this.insertStmt = db.prepare(
      `INSERT INTO outbox (sink, action_id, journal_seq, peer, state, attempts, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
    );
    this.incidentSinksStmt = db.prepare(
      `SELECT DISTINCT o.sink FROM outbox o JOIN journal j ON j.seq = o.journal_seq
       WHERE json_extract(j.entry, '$.incident_id') = ?`,
    );
    this.headStmt = db.prepare(
      `${SELECT_ROW} WHERE o.sink = ? AND o.state = 'pending' AND o.seq > ? ORDER BY o.seq LIMIT 1`,
    );
    this.deliveredStmt = db.prepare(
      `UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL
       WHERE seq = ? AND state = 'pending'`,
    );
    this.retryStmt = db.prepare(
      `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ? AND state = 'pending'`,
    );
    this.deadStmt = db.prepare(
      `UPDATE outbox SET state = 'dead', dead_at = ?, last_error = ? WHERE seq = ? AND state = 'pending'`,
    );
    this.existsStmt = db.prepare(`SELECT state FROM outbox WHERE seq = ?`);
    this.depthStmt = db.prepare(
      `SELECT sink, state, count(*) AS n FROM outbox WHERE state IN ('pending', 'dead') GROUP BY sink, state`,
    );
    this.deliveriesStmt = db.prepare(
      `SELECT journal_seq, sink, state, attempts, last_error FROM outbox
       WHERE journal_seq >= ? AND journal_seq <= ? ORDER BY journal_seq, seq`,
    );
    this.listStmt = db.prepare(
      `${SELECT_ROW}
       WHERE (@state IS NULL OR o.state = @state) AND (@sink IS NULL OR o.sink = @sink)
       ORDER BY o.seq LIMIT @limit`,
    );
  }

  /** Inside the commit transaction: one row per sink the action is routed to. Returns the sinks. */
  append(action: EscalationAction, journalSeq: number, peerJson: string, now: number): string[] {
    const sinks: string[] = [];
    const reached =
      RESOLVING_ACTIONS.has(action.action) && action.incident_id !== null
        ? new Set(
            (this.incidentSinksStmt.all(action.incident_id) as Array<{ sink: string }>).map((r) => r.sink),
          )
        : undefined;
    for (const r of routeAction(this.routes, action, reached)) {
      this.insertStmt.run(r.name, action.id, journalSeq, peerJson, now, now);
      sinks.push(r.name);
    }
    return sinks;
  }

  /** Deliveries of the journal entries fromSeq..toSeq (inclusive), by journal seq; entries without rows are absent. */
  deliveries(fromSeq: number, toSeq: number): Map<number, JournalDelivery[]> {
    const out = new Map<number, JournalDelivery[]>();
    const rows = this.deliveriesStmt.all(fromSeq, toSeq) as Array<JournalDelivery & { journal_seq: number }>;
    for (const r of rows) {
      const d: JournalDelivery = {
        sink: r.sink,
        state: r.state,
        attempts: r.attempts,
        last_error: r.last_error,
      };
      const list = out.get(r.journal_seq);
      if (list) list.push(d);
      else out.set(r.journal_seq, [d]);
    }
    return out;
  }

  head(sink: string, afterSeq = 0): OutboxRow | undefined {
    const r = this.headStmt.get(sink, afterSeq) as RawOutboxRow | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /** A row already delivered/dead is left as it is (a late duplicate mark is harmless). */
  private requireRow(seq: number, op: string): void {
    const r = this.existsStmt.get(seq) as { state: DeliveryState } | undefined;
    if (r === undefined) {
      throw storeError(`state file ${this.file}: ${op} of outbox row ${seq}: no such row.`, this.file);
    }
  }

  markDelivered(seq: number, now: number): void {
    if (this.deliveredStmt.run(now, seq).changes === 0) this.requireRow(seq, "markDelivered");
  }

  markRetry(seq: number, nextAttemptAt: number, error: string): void {
    if (this.retryStmt.run(nextAttemptAt, error, seq).changes === 0) this.requireRow(seq, "markRetry");
  }

  /** Routes new actions to these sinks from now on (config reload). */
  setRoutes(routes: readonly SinkRoute[]): void {
    this.routes = [...routes];
  }

  /** Dead-letters every pending row of `sink` with `reason`; returns how many. */
  deadLetterSink(sink: string, reason: string, now: number): number {
    return this.deadSinkStmt.run(now, reason, sink).changes;
  }

  markDead(seq: number, reason: string, now: number): void {
    if (this.deadStmt.run(now, reason, seq).changes === 0) this.requireRow(seq, "markDead");
  }

  list(filter: { state?: DeliveryState; sink?: string; limit?: number }): OutboxRow[] {
    const limit = Math.min(OUTBOX_LIST_MAX, Math.max(1, Math.floor(filter.limit ?? OUTBOX_LIST_DEFAULT)));
    const rows = this.listStmt.all({
      state: filter.state ?? null,
      sink: filter.sink ?? null,
      limit,
    }) as RawOutboxRow[];
    return rows.map(toRow);
  }

  /** Pending and dead counts per sink; every configured sink appears, with zeros. */
  depth(): Record<string, { pending: number; dead: number }> {
    const out: Record<string, { pending: number; dead: number }> = {};
    for (const r of this.routes) out[r.name] = { pending: 0, dead: 0 };
    for (const r of this.depthStmt.all() as Array<{ sink: string; state: "pending" | "dead"; n: number }>) {
      const d = (out[r.sink] ??= { pending: 0, dead: 0 });
      d[r.state] = r.n;
    }
    return out;
  }
}
