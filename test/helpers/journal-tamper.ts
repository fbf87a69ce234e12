// What an attacker with write access to a node's state file does to its journal: rewrites
// entry `seq` and recomputes every hash from there on exactly as the chain does
// (sha256_hex(prev_hash + canonical entry)), so every link holds again. Only a signature
// (or a witness outside the file) can tell.
import { createHash } from "node:crypto";
import Database from "better-sqlite3";

/**
 * Rewrites entry `seq` of the journal in the SQLite file `file` with `edit` (which gets and
 * returns the entry's canonical JSON text) and rehashes the chain after it; with
 * `alsoCheckpoints`, the checkpoints' hashes follow too (a forger who knows the table).
 */
export function rewriteAndRehash(
  file: string,
  seq: number,
  edit: (entry: string) => string,
  alsoCheckpoints = false,
): void {
  const db = new Database(file);
  try {
    const rows = db
      .prepare("SELECT seq, entry, prev_hash FROM journal WHERE seq >= ? ORDER BY seq")
      .all(seq) as Array<{ seq: number; entry: string; prev_hash: string }>;
    let prev = rows[0]!.prev_hash;
    for (const r of rows) {
      const entry = r.seq === seq ? edit(r.entry) : r.entry;
      const hash = createHash("sha256").update(prev).update(entry).digest("hex");
      db.prepare("UPDATE journal SET entry = ?, prev_hash = ?, hash = ? WHERE seq = ?").run(
        entry,
        prev,
        hash,
        r.seq,
      );
      if (alsoCheckpoints)
        db.prepare("UPDATE journal_checkpoints SET hash = ? WHERE seq = ?").run(hash, r.seq);
      prev = hash;
    }
  } finally {
    db.close();
  }
}
