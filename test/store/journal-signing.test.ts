// Signed checkpoints: a node with an identity signs its journal's head at every commit, so
// an entry rewritten with every later hash recomputed (links intact) fails verification.
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { generateIdentity, loadIdentity, parsePublicKey } from "../../src/core/identity.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { JournalFile } from "../../src/store/journal-file.js";
import { CheckpointAudit, checkpointMessage } from "../../src/store/journal-signing.js";
import { STATE_FILE_NAME } from "../../src/store/open.js";
import { action, state, transition } from "./fixtures/transitions.js";
import { rewriteAndRehash } from "../helpers/journal-tamper.js";
import { tempDir } from "../helpers/tmp-dir.js";

const SINKS = [{ name: "all", minSeverity: "INFO" as const }];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const keys = generateIdentity();
const identity = loadIdentity(keys.privatePem);
const trusted = [parsePublicKey(keys.publicKey)];

function open(dataDir: string, withIdentity = true): SqliteStore {
  const s = SqliteStore.open({
    dataDir,
    sinks: SINKS,
    node: "node-a",
    ...(withIdentity ? { identity } : {}),
  });
  stores.push(s);
  return s;
}

/** `n` commits of one entry each (seq 1..n), then the store is closed. */
function seed(dir: string, n: number, withIdentity = true, from = 1): void {
  const s = open(dir, withIdentity);
  for (let i = from; i < from + n; i++) {
    s.commit(
      transition("p", state({ status: "DEGRADED", missed: i }), [
        action(`a${i}`, "p", "alert", "MEDIUM", "inc"),
      ]),
    );
  }
  s.close();
}

/** Rewrites the reason of entry `seq` (its keys stay sorted: the same canonical form) and rehashes. */
function forge(dir: string, seq: number, alsoCheckpoints = false): void {
  const edit = (entry: string): string =>
    JSON.stringify({ ...(JSON.parse(entry) as Record<string, unknown>), reason: "nothing happened here" });
  rewriteAndRehash(join(dir, STATE_FILE_NAME), seq, edit, alsoCheckpoints);
}

function audit(
  dir: string,
  keys = trusted,
): { chain: ReturnType<JournalFile["verify"]>; sig: ReturnType<CheckpointAudit["result"]> } {
  const file = JournalFile.open(dir);
  try {
    const a = new CheckpointAudit(keys, "no public key given");
    const chain = file.verify(a);
    return { chain, sig: a.result() };
  } finally {
    file.close();
  }
}

void describe("signed journal checkpoints", () => {
  test("every commit signs its head: the whole journal is covered, the signature is over (node, seq, hash)", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    const s = open(dir);
    s.commit(
      transition("p", state({ status: "OFFLINE" }), [
        action("a1", "p", "alert", "MEDIUM", "inc"),
        action("a2", "p", "restart", "HIGH", "inc"),
      ]),
    );
    s.commit(transition("p", state({ status: "OFFLINE" }), [action("a3", "p", "alert", "HIGH", "inc")]));
    const entries = s.journal();
    assert.equal(entries[0]!.checkpoint, undefined, "a commit signs its last entry only");
    const c = entries[1]!.checkpoint!;
    assert.deepEqual(
      { node: c.node, hash: c.hash, key: c.public_key },
      {
        node: "node-a",
        hash: entries[1]!.hash,
        key: keys.publicKey,
      },
    );
    assert.ok(
      loadIdentity(keys.privatePem).sign(checkpointMessage("node-a", 2, entries[1]!.hash)) === c.signature,
      "Ed25519 is deterministic: the same message gives the same signature",
    );
    const a = new CheckpointAudit(trusted);
    assert.deepEqual(s.verifyJournal(a), { ok: true, checked: 3 });
    assert.deepEqual(a.result(), {
      ok: true,
      signatures: {
        checked: true,
        public_keys: [keys.publicKey],
        checkpoints: 2,
        signed_seq: 3,
        covered: 3,
        unsigned_tail: null,
      },
    });
  });

  test("rewrite-and-rehash keeps the links intact, but the signed checkpoint at that seq fails", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 6);
    assert.equal(audit(dir).sig.ok, true);
    forge(dir, 4);
    const { chain, sig } = audit(dir);
    assert.deepEqual(chain, { ok: true, checked: 6 }, "the unkeyed chain cannot see it");
    assert.equal(sig.ok, false);
    assert.ok(!sig.ok);
    assert.equal(sig.seq, 4);
    assert.match(
      sig.reason,
      /signed checkpoint at seq 4 vouches for hash .* but the entry's hash is now .*rewritten/,
    );
    assert.equal(sig.signatures.checked && sig.signatures.signed_seq, 3, "entries 1-3 are still covered");
  });

  test("re-pointing the checkpoints at the new hashes breaks their signatures", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 5);
    forge(dir, 2, true);
    const { chain, sig } = audit(dir);
    assert.equal(chain.ok, true);
    assert.ok(!sig.ok);
    assert.equal(sig.seq, 2);
    assert.match(sig.reason, /checkpoint at seq 2 does not verify with the trusted key/);
  });

  test("deleting the checkpoints after a rewrite leaves entries no checkpoint covers: not ok", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 5);
    forge(dir, 3);
    const db = new Database(join(dir, STATE_FILE_NAME));
    db.prepare("DELETE FROM journal_checkpoints WHERE seq >= 3").run();
    db.close();
    const { chain, sig } = audit(dir);
    assert.equal(chain.ok, true);
    assert.ok(!sig.ok);
    assert.equal(sig.seq, 3);
    assert.match(sig.reason, /entries 3-5 after the last signed checkpoint \(seq 2\) are not covered/);
    assert.deepEqual(sig.signatures.checked && sig.signatures.unsigned_tail, { from: 3, to: 5 });
  });

  test("a checkpoint signed by another key fails, naming the key it claims", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 2);
    const other = generateIdentity();
    const { sig } = audit(dir, [parsePublicKey(other.publicKey)]);
    assert.ok(!sig.ok);
    assert.equal(sig.seq, 1);
    assert.ok(sig.reason.includes(`it names key ${keys.publicKey}, which is not a trusted key`), sig.reason);
    // After a key rotation both keys are trusted.
    assert.equal(audit(dir, [parsePublicKey(other.publicKey), ...trusted]).sig.ok, true);
  });

  test("without a key: not checked, and says why; the checkpoints are counted", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 3);
    forge(dir, 2);
    const { chain, sig } = audit(dir, []);
    assert.equal(chain.ok, true);
    assert.deepEqual(sig, {
      ok: true,
      signatures: { checked: false, why: "no public key given", checkpoints: 3, signed_by: [keys.publicKey] },
    });
  });

  test("entries written before the node had an identity are covered once it opens with one", (t) => {
    const dir = tempDir(t, "wdm-sign-");
    seed(dir, 3, false);
    let r = audit(dir).sig;
    assert.ok(!r.ok);
    assert.match(r.reason, /no signed checkpoint: entries 1-3 are not covered/);
    open(dir).close();
    r = audit(dir).sig;
    assert.equal(r.ok, true);
    assert.equal(r.signatures.checked && r.signatures.covered, 3);
    seed(dir, 2, true, 4);
    const after = audit(dir).sig.signatures;
    assert.equal(after.checked && after.signed_seq, 5);
  });
});
