// Versioned schema. `PRAGMA user_version` holds the version applied; migrations run
// in order, each in its own transaction together with the version bump, so a crash
// mid-migration leaves the previous version intact. Append new migrations; never edit
// one that has shipped.
import type Database from "better-sqlite3";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: peers, isolations, effects, incidents, journal, outbox",
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      -- Ladder state per peer (LadderState JSON). updated_at: epoch ms.
      CREATE TABLE peers (
        name       TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- What the last isolation applied (IsolationRecord JSON), until a successful release.
      CREATE TABLE isolations (
        peer       TEXT PRIMARY KEY REFERENCES peers(name),
        record     TEXT NOT NULL,
        effect_id  TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      );
      -- Remediation intents; id = the action id (idempotency key). Times: epoch ms.
      CREATE TABLE effects (
        id         TEXT PRIMARY KEY,
        peer       TEXT NOT NULL REFERENCES peers(name),
        kind       TEXT NOT NULL CHECK (kind IN ('restart', 'isolate', 'release')),
        attempt    INTEGER NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('pending', 'done')),
        result     TEXT,
        created_at INTEGER NOT NULL,
        done_at    INTEGER
      );
      CREATE INDEX effects_pending ON effects (created_at) WHERE status = 'pending';
      -- The hash-chained escalation journal. entry = canonical JSON (what the hash covers).
      CREATE TABLE journal (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        peer       TEXT NOT NULL,
        entry      TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL,
        -- ActionResult JSON when the action came with one (effect results live in effects).
        result     TEXT,
        created_at INTEGER NOT NULL
      );
      -- Incidents; last_seq = the latest journal entry raised in it. Times: epoch ms.
      CREATE TABLE incidents (
        id        TEXT PRIMARY KEY,
        peer      TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        last_seq  INTEGER NOT NULL REFERENCES journal(seq)
      );
      CREATE INDEX incidents_open ON incidents (opened_at) WHERE closed_at IS NULL;
      -- One row per action per sink it is routed to. Times: epoch ms.
      CREATE TABLE outbox (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        sink            TEXT NOT NULL,
        action_id       TEXT NOT NULL,
        journal_seq     INTEGER NOT NULL REFERENCES journal(seq),
        peer            TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        delivered_at    INTEGER,
        dead_at         INTEGER,
        last_error      TEXT,
        UNIQUE (sink, action_id)
      );
      CREATE INDEX outbox_sink_state ON outbox (sink, state, seq);
    `,
  },
  {
    version: 2,
    name: "outbox rows by journal entry (deliveries shown with each journal entry)",
    sql: `
      CREATE INDEX outbox_journal_seq ON outbox (journal_seq, seq);
    `,
  },
  {
    version: 3,
    name: "a release remembers the isolation it undoes (never replayed against a later one)",
    sql: `
      -- For a release: the id of the isolate effect whose record it undoes; NULL when
      -- the peer was not isolated (nothing to undo) and on other kinds.
      ALTER TABLE effects ADD COLUMN against TEXT;
    `,
  },
  {
    version: 4,
    name: "signed checkpoints of the journal (a node with an identity signs its head at every commit)",
    sql: `
      -- The node's Ed25519 signature (base64) of the lines "wdmesh-journal-checkpoint", node,
      -- seq and hash (joined by newlines): hash is the journal's hash at seq when it was signed. public_key: the signer's
      -- raw key in base64 (names the key; verification trusts only a key given to it).
      -- created_at: epoch ms.
      CREATE TABLE journal_checkpoints (
        seq        INTEGER PRIMARY KEY REFERENCES journal(seq),
        node       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature  TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
];

/** The schema version this build writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

for (const [i, m] of MIGRATIONS.entries()) {
  if (m.version !== i + 1)
    throw new Error(`migration #${i} has version ${m.version}; versions must be 1..n in order`);
}

/** Applies every migration above the file's user_version. Returns the versions. */
export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma("user_version", { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, SCHEMA_VERSION) };
}
