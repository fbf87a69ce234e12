import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { STATE_FILE_NAME } from "../../src/store/open.js";
import { action, state, transition } from "./fixtures/transitions.js";
import { tempDir, type Owner } from "../helpers/tmp-dir.js";

const here = dirname(fileURLToPath(import.meta.url));
const tmp = (t: Owner): string => tempDir(t, "wdm-open-");

const openAt = (dataDir: string) => SqliteStore.open({ dataDir, sinks: [], node: "n" });

/** Asserts opening fails with WDM_STATE_STORE naming the file, and the file's bytes are unchanged. */
function assertRefused(dataDir: string, pattern: RegExp): void {
  const file = join(dataDir, STATE_FILE_NAME);
  const before = readFileSync(file);
  assert.throws(
    () => openAt(dataDir),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "WDM_STATE_STORE");
      assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      assert.match(e.message, /left untouched|Run the newer version/);
      return true;
    },
  );
  assert.ok(readFileSync(file).equals(before), "the file's bytes are unchanged");
}

/** A real state file with some history, closed cleanly (WAL checkpointed). */
function populated(t: Owner): string {
  const d = tmp(t);
  const s = openAt(d);
  for (let i = 0; i < 400; i++)
    s.commit(transition("p", state({ restarts: i }), [action(`a${i}`, "p", "alert", "INFO", null)]));
  s.close();
  return d;
}

void describe("data_dir", () => {
  void test("a missing data_dir is created with mode 0700", (t) => {
    const d = join(tmp(t), "a", "b");
    openAt(d).close();
    assert.equal(statSync(d).mode & 0o777, 0o700);
    assert.ok(existsSync(join(d, STATE_FILE_NAME)));
  });

  void test("a data_dir that is a file is refused", (t) => {
    const f = join(tmp(t), "file");
    writeFileSync(f, "x");
    assert.throws(() => openAt(f), {
      code: "WDM_STATE_STORE",
      message: /data_dir .*file exists but is not a directory/,
    });
    assert.throws(() => openAt(join(f, "sub")), {
      code: "WDM_STATE_STORE",
      message: /cannot be (created|inspected)/,
    });
  });

  void test("an unwritable data_dir is refused with what to do", (t) => {
    const d = tmp(t);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) {
      chmodSync(d, 0o500);
      assert.throws(() => openAt(d), {
        code: "WDM_STATE_STORE",
        message: /is not writable by this process.*permissions/,
      });
      return;
    }
    // root ignores file modes: run the open as an unprivileged user (nobody) instead.
    chmodSync(d, 0o755); // readable, not writable, by others
    const res = spawnSync(process.execPath, ["--import", "tsx", join(here, "fixtures", "open-store.ts"), d], {
      uid: 65534,
      gid: 65534,
      encoding: "utf8",
      cwd: join(here, "..", ".."),
      timeout: 60_000,
    });
    assert.equal(res.status, 0, `child failed: ${res.stderr}`);
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      ok: boolean;
      code?: string;
      message?: string;
    };
    assert.equal(out.ok, false);
    assert.equal(out.code, "WDM_STATE_STORE");
    assert.match(out.message!, new RegExp(`data_dir ${d} is not writable by this process \\(uid 65534\\)`));

    // an existing state file owned by root is refused too, and left as it was
    const d2 = populated(t);
    chownSync(d2, 65534, 65534); // nobody's own directory (0700), holding root's file
    chmodSync(d2, 0o700);
    const file = join(d2, STATE_FILE_NAME);
    chmodSync(file, 0o644);
    const before = readFileSync(file);
    const res2 = spawnSync(
      process.execPath,
      ["--import", "tsx", join(here, "fixtures", "open-store.ts"), d2],
      {
        uid: 65534,
        gid: 65534,
        encoding: "utf8",
        cwd: join(here, "..", ".."),
        timeout: 60_000,
      },
    );
    const out2 = JSON.parse(res2.stdout.trim().split("\n").pop()!) as {
      ok: boolean;
      code?: string;
      message?: string;
    };
    assert.equal(out2.code, "WDM_STATE_STORE");
    assert.match(out2.message!, /state file .* is not readable and writable by this process/);
    assert.ok(readFileSync(file).equals(before));
  });
});

void describe("file modes", () => {
  void test("an existing 0755 data_dir becomes 0700 and the database, WAL and SHM 0600, whatever they were", (t) => {
    const d = populated(t);
    chmodSync(d, 0o755);
    const db = join(d, STATE_FILE_NAME);
    writeFileSync(`${db}-wal`, "");
    writeFileSync(`${db}-shm`, "");
    for (const f of [db, `${db}-wal`, `${db}-shm`]) chmodSync(f, 0o644);
    const s = openAt(d);
    try {
      s.commit(transition("p", state({ restarts: 1 }), [action("mode-check", "p", "alert", "INFO", null)]));
      assert.equal(statSync(d).mode & 0o777, 0o700, "data_dir");
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        assert.ok(existsSync(f), `${f} exists while the store is open`);
        assert.equal(statSync(f).mode & 0o777, 0o600, f);
      }
    } finally {
      s.close();
    }
  });

  void test("a new state file and its WAL and SHM are 0600", (t) => {
    const d = join(tmp(t), "fresh");
    const s = openAt(d);
    try {
      s.commit(transition("p", state({ restarts: 1 }), [action("fresh", "p", "alert", "INFO", null)]));
      const db = join(d, STATE_FILE_NAME);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    } finally {
      s.close();
    }
  });

  for (const [mode, who] of [
    [0o775, "its group"],
    [0o757, "others"],
    [0o777, "its group"],
  ] as const) {
    void test(`a data_dir with mode ${mode.toString(8)} (writable by ${who}) is refused, its files untouched`, (t) => {
      const d = populated(t);
      chmodSync(d, mode);
      const before = readFileSync(join(d, STATE_FILE_NAME));
      assert.throws(() => openAt(d), {
        code: "WDM_STATE_STORE",
        message: new RegExp(
          `data_dir ${d} is writable by ${who} \\(mode 0${mode.toString(8)}\\).*chmod 0700 ${d}`,
        ),
      });
      assert.equal(statSync(d).mode & 0o777, mode, "left as it was");
      assert.ok(readFileSync(join(d, STATE_FILE_NAME)).equals(before));
    });
  }
});

void describe("state file checks", () => {
  void test("a garbage file is refused and kept byte for byte", (t) => {
    const d = tmp(t);
    writeFileSync(join(d, STATE_FILE_NAME), "these are not the bytes you are looking for\n".repeat(100));
    assertRefused(d, /is not a SQLite database/);
  });

  void test("a file shorter than the SQLite header is refused", (t) => {
    const d = populated(t);
    truncateSync(join(d, STATE_FILE_NAME), 60);
    assertRefused(d, /truncated/);
  });

  void test("a truncated file is refused", (t) => {
    const d = populated(t);
    const file = join(d, STATE_FILE_NAME);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    assertRefused(d, /truncated: \d+ bytes, but its header says/);
  });

  void test("a file left mid-checkpoint by kill -9 (header ahead of the file, WAL beside it) opens", (t) => {
    // Build a live store whose history is still in its WAL, copy the file pair as a
    // crash would leave it, then make page 1 claim more pages than the file holds, as a
    // checkpoint interrupted after writing page 1 but before growing the file does.
    const live = tmp(t);
    const s = openAt(live);
    for (let i = 0; i < 50; i++)
      s.commit(transition("p", state({ restarts: i }), [action(`w${i}`, "p", "alert", "INFO", null)]));
    const d = tmp(t);
    const file = join(d, STATE_FILE_NAME);
    writeFileSync(file, readFileSync(join(live, STATE_FILE_NAME)));
    writeFileSync(`${file}-wal`, readFileSync(join(live, `${STATE_FILE_NAME}-wal`)));
    s.close();
    const db = readFileSync(file);
    const pageSize = db.readUInt16BE(16);
    db.writeUInt32BE(Math.floor(db.length / pageSize) + 40, 28);
    db.writeUInt32BE(db.readUInt32BE(24), 92);
    writeFileSync(file, db);
    const reopened = openAt(d);
    try {
      assert.equal(reopened.loadPeers()[0]?.state.restarts, 49, "the committed state is back");
      assert.deepEqual(reopened.verifyJournal(), { ok: true, checked: 50 });
    } finally {
      reopened.close();
    }
  });

  void test("the same header without a WAL beside it is refused as truncated", (t) => {
    const d = populated(t);
    const file = join(d, STATE_FILE_NAME);
    const db = readFileSync(file);
    const pageSize = db.readUInt16BE(16);
    db.writeUInt32BE(Math.floor(db.length / pageSize) + 40, 28);
    db.writeUInt32BE(db.readUInt32BE(24), 92);
    writeFileSync(file, db);
    assertRefused(d, /truncated: \d+ bytes, but its header says/);
  });

  void test("a corrupted page is found by quick_check", (t) => {
    const d = populated(t);
    const file = join(d, STATE_FILE_NAME);
    const buf = readFileSync(file);
    const pageSize = buf.readUInt16BE(16);
    // scribble over the b-tree header of page 3 (keeps the file header valid)
    buf.fill(0xff, 2 * pageSize, 2 * pageSize + 64);
    writeFileSync(file, buf);
    assertRefused(d, /is corrupted/);
  });

  void test("a file from a newer schema version is refused", (t) => {
    const d = populated(t);
    const raw = new Database(join(d, STATE_FILE_NAME));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.pragma("journal_mode = DELETE");
    raw.close();
    assertRefused(
      d,
      new RegExp(
        `schema version ${SCHEMA_VERSION + 1}, written by a newer watchdog-mesh; this version understands up to ${SCHEMA_VERSION}`,
      ),
    );
  });

  void test("an empty file is initialised", (t) => {
    const d = tmp(t);
    writeFileSync(join(d, STATE_FILE_NAME), "");
    const s = openAt(d);
    assert.deepEqual(s.loadPeers(), []);
    s.close();
  });

  void test("a refusal leaves the directory as it was (no new files)", (t) => {
    const d = tmp(t);
    mkdirSync(join(d, "x"));
    writeFileSync(join(d, STATE_FILE_NAME), "garbage".repeat(50));
    assert.throws(() => openAt(d), { code: "WDM_STATE_STORE" });
    const files = spawnSync("ls", ["-A", d], { encoding: "utf8" }).stdout.trim().split("\n").sort();
    assert.deepEqual(files, [STATE_FILE_NAME, "x"]);
  });
});
