// Every alert carries the journal head its action was written at (its entry's seq and hash),
// so each receiver holds a witness: a journal later shorter than that, or with another hash at
// that seq, was rewritten.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { formatGeneric } from "../../src/alert/format-generic.js";
import { alertmanagerAlerts } from "../../src/alert/format-alertmanager.js";
import { commitAction, LADDER, newAction } from "./commit.js";

void test("an alert carries the journal head it was written at, in the generic body and the Alertmanager annotations", () => {
  const store = SqliteStore.openFile(":memory:", {
    node: "immune",
    sinks: [{ name: "s", minSeverity: "INFO" }],
  });
  try {
    for (const a of LADDER) commitAction(store, newAction(a));
    const journal = store.journal();
    const rows = store.list({ sink: "s" });
    assert.equal(rows.length, journal.length);
    for (const row of rows) {
      const entry = journal.find((e) => e.id === row.action.id);
      assert.ok(entry);
      assert.deepEqual(row.action.journal, { seq: entry.seq, hash: entry.hash });
      const body = JSON.parse(formatGeneric(row.action, row.peer, { nowSec: 1 }).body) as {
        journal?: { seq: number; hash: string };
      };
      assert.deepEqual(body.journal, { seq: entry.seq, hash: entry.hash });
    }
    const last = rows.at(-1)!;
    const [am] = alertmanagerAlerts(last.action, last.peer, { host: "h" });
    assert.equal(
      am?.annotations["journal_head"],
      `seq ${last.action.journal?.seq} hash ${last.action.journal?.hash}`,
    );
  } finally {
    store.close();
  }
});
