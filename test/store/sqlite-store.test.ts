import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { STATE_FILE_NAME } from "../../src/store/open.js";
import type { SinkRoute } from "../../src/store/types.js";
import type { JournalEntry } from "../../src/store/types.js";
import { action, state, transition } from "./fixtures/transitions.js";
import { systemdNetworkRecord } from "../helpers/isolation-record.js";
import { tempDir, type Owner } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const SINKS: SinkRoute[] = [
  { name: "all", minSeverity: "INFO" },
  { name: "high", minSeverity: "HIGH" },
  { name: "crit", minSeverity: "CRITICAL" },
];

const stores: SqliteStore[] = [];
const tmp = (t: Owner): string => tempDir(t, "wdm-store-");
function open(
  dataDir: string,
  sinks = SINKS,
  extra: Partial<Parameters<typeof SqliteStore.open>[0]> = {},
): SqliteStore {
  const s = SqliteStore.open({ dataDir, sinks, node: "node-a", ...extra });
  stores.push(s);
  return s;
}
function mem(sinks = SINKS): SqliteStore {
  const s = SqliteStore.openFile(":memory:", { sinks, node: "node-a" });
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** One incident of peer p: alert, restart, isolate + alert_architect. */
function seedIncident(s: SqliteStore, p = "p", inc = "inc-1"): void {
  s.commit(
    transition(p, state({ status: "DEGRADED", missed: 1, incidentId: inc }), [
      action(`${p}-alert`, p, "alert", "MEDIUM", inc),
    ]),
  );
  s.commit(
    transition(p, state({ status: "OFFLINE", restarts: 1, incidentId: inc }), [
      action(`${p}-restart`, p, "restart", "HIGH", inc),
    ]),
  );
  s.commit(
    transition(p, state({ status: "ISOLATED", restarts: 1, incidentId: inc }), [
      action(`${p}-isolate`, p, "isolate", "CRITICAL", inc),
      action(`${p}-architect`, p, "alert_architect", "CRITICAL", inc),
    ]),
  );
}

void describe("schema", () => {
  void test("migrates an empty file to the current version with all tables", (t) => {
    const d = tmp(t);
    open(d).close();
    const db = new Database(join(d, STATE_FILE_NAME), { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as Array<{
        name: string;
      }>
    ).map((r) => r.name);
    for (const t of ["effects", "incidents", "isolations", "journal", "meta", "outbox", "peers"])
      assert.ok(tables.includes(t), `table ${t}`);
    db.close();
  });

  void test("reopening a current file does not re-run migrations and keeps data", (t) => {
    const d = tmp(t);
    const s = open(d);
    seedIncident(s);
    s.close();
    const s2 = open(d);
    assert.equal(s2.journal().length, 4);
    assert.deepEqual(s2.verifyJournal(), { ok: true, checked: 4 });
  });

  void test('dataDir ":memory:" is a private in-memory store', () => {
    const a = SqliteStore.open({ dataDir: ":memory:", sinks: SINKS, node: "n" });
    const b = SqliteStore.open({ dataDir: ":memory:", sinks: SINKS, node: "n" });
    stores.push(a, b);
    seedIncident(a);
    assert.equal(a.journal().length, 4);
    assert.equal(b.journal().length, 0);
  });

  void test("invalid sink routes are rejected with the field", () => {
    assert.throws(
      () =>
        mem([
          { name: "a", minSeverity: "INFO" },
          { name: "a", minSeverity: "HIGH" },
        ]),
      { code: "WDM_INVALID_OPTION", message: /sinks\[1\]\.name.*duplicate/ },
    );
    assert.throws(() => mem([{ name: "a", minSeverity: "LOUD" as never }]), {
      code: "WDM_INVALID_OPTION",
      message: /sinks\[0\]\.minSeverity/,
    });
  });
});

void describe("commit", () => {
  void test("is atomic: a duplicate action id midway leaves nothing of the transition", () => {
    const s = mem();
    s.commit(
      transition("p", state({ status: "DEGRADED", missed: 1, incidentId: "i1" }), [
        action("a1", "p", "alert", "MEDIUM", "i1"),
      ]),
    );
    const before = {
      j: s.journal(),
      o: s.list({ limit: 1000 }),
      e: s.pendingEffects(),
      inc: s.openIncidents(),
      peers: s.loadPeers(),
    };
    const bad = transition("p", state({ status: "OFFLINE", restarts: 1, incidentId: "i1" }), [
      action("r1", "p", "restart", "HIGH", "i1"),
      action("a1", "p", "alert", "MEDIUM", "i1"), // duplicate id → UNIQUE violation after r1 was written
    ]);
    const seen: JournalEntry[] = [];
    let appended = 0;
    s.onJournal((e) => seen.push(e));
    s.onAppend(() => appended++);
    assert.throws(
      () => s.commit(bad),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "WDM_STATE_STORE");
        assert.match(
          e.message,
          /commit of a transition of peer "p" failed: .*UNIQUE.*Nothing of this operation was written/,
        );
        return true;
      },
    );
    assert.deepEqual(s.journal(), before.j);
    assert.deepEqual(s.list({ limit: 1000 }), before.o);
    assert.deepEqual(s.pendingEffects(), before.e);
    assert.equal(s.effect("r1"), undefined);
    assert.deepEqual(s.openIncidents(), before.inc);
    assert.deepEqual(s.loadPeers(), before.peers);
    assert.equal(seen.length, 0);
    assert.equal(appended, 0);
    // and the next good commit links to the last good entry
    s.commit(
      transition("p", state({ status: "OFFLINE", restarts: 1, incidentId: "i1" }), [
        action("r1", "p", "restart", "HIGH", "i1"),
      ]),
    );
    assert.deepEqual(s.verifyJournal(), { ok: true, checked: 2 });
  });

  void test("a duplicate effect id also rolls back the journal entries", () => {
    const s = mem();
    s.commit(transition("p", state(), [action("r1", "p", "restart", "HIGH", "i1")]));
    const t = transition("p", state(), [action("r2", "p", "restart", "HIGH", "i1")]);
    t.effects = [{ id: "r1", kind: "restart", attempt: 2 }];
    assert.throws(() => s.commit(t), { code: "WDM_STATE_STORE" });
    assert.equal(s.journal().length, 1);
  });

  void test("listeners run after the commit; a throwing listener breaks nothing", () => {
    const s = mem();
    const got: number[] = [];
    let appends = 0;
    s.onJournal(() => {
      throw new Error("listener bug");
    });
    const off = s.onJournal((e) => got.push(e.seq));
    s.onAppend(() => appends++);
    seedIncident(s);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.equal(appends, 3);
    off();
    s.commit(transition("p", state(), [action("x", "p", "recovered", "INFO", "inc-1")]));
    assert.equal(got.length, 4);
  });
});

void describe("journal chain in the table", () => {
  function tamperable(t: Owner): { d: string; file: string } {
    const d = tmp(t);
    const s = open(d);
    seedIncident(s, "p", "i1");
    seedIncident(s, "q", "i2");
    s.close();
    return { d, file: join(d, STATE_FILE_NAME) };
  }

  void test("verifies, then names the seq whose reason was changed by raw SQL", (t) => {
    const { d, file } = tamperable(t);
    const s = open(d);
    assert.deepEqual(s.verifyJournal(), { ok: true, checked: 8 });
    s.close();
    const raw = new Database(file);
    raw
      .prepare("UPDATE journal SET entry = json_set(entry, '$.reason', 'nothing happened') WHERE seq = 3")
      .run();
    raw.close();
    const s2 = open(d);
    const r = s2.verifyJournal();
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.seq, 3);
    assert.equal(r.checked, 2);
    assert.match(r.reason, /seq 3 does not match its content/);
  });

  void test("a deleted row names the broken link", (t) => {
    const { d, file } = tamperable(t);
    const raw = new Database(file);
    raw.pragma("foreign_keys = OFF");
    raw.prepare("DELETE FROM journal WHERE seq = 5").run();
    raw.close();
    const r = open(d).verifyJournal();
    assert.ok(!r.ok);
    assert.equal(r.seq, 6);
    assert.match(
      r.reason,
      /prev_hash of entry seq 6 does not match the hash of entry seq 4 \(entries seq 5\.\.5 are missing\)/,
    );
  });

  void test("verification crosses page boundaries", () => {
    const s = mem();
    for (let i = 0; i < 10_050; i++)
      s.commit(transition("p", state(), [action(`a${i}`, "p", "alert", "INFO", null)]));
    assert.deepEqual(s.verifyJournal(), { ok: true, checked: 10_050 });
  });

  void test("journal pages by seq and merges effect results", () => {
    const s = mem();
    seedIncident(s);
    assert.equal(s.journal(0, 2).length, 2);
    assert.deepEqual(
      s.journal(2).map((e) => e.seq),
      [3, 4],
    );
    const restart = s.journal().find((e) => e.id === "p-restart")!;
    assert.equal(restart.result, undefined);
    s.recordEffectResult("p-restart", { ok: false, error: "unit failed", duration_ms: 12 });
    const after = s.journal().find((e) => e.id === "p-restart")!;
    assert.deepEqual(after.result, { ok: false, error: "unit failed", duration_ms: 12 });
    assert.equal(after.hash, restart.hash);
    assert.deepEqual(s.verifyJournal(), { ok: true, checked: 4 });
  });
});

void describe("outbox", () => {
  void test("routes each action to the sinks whose min_severity it meets; resolutions follow their incident", () => {
    const s = mem();
    seedIncident(s); // MEDIUM, HIGH, CRITICAL, CRITICAL
    s.commit(transition("p", state(), [action("rec", "p", "recovered", "INFO", "inc-1")]));
    // An incident that only raised a MEDIUM alert: its recovery goes only where the alert went.
    s.commit(transition("q", state(), [action("q-alert", "q", "alert", "MEDIUM", "inc-2")]));
    s.commit(transition("q", state(), [action("q-rec", "q", "recovered", "INFO", "inc-2")]));
    const ids = (sink: string) => s.list({ sink, limit: 100 }).map((r) => r.action.id);
    assert.deepEqual(ids("all"), [
      "p-alert",
      "p-restart",
      "p-isolate",
      "p-architect",
      "rec",
      "q-alert",
      "q-rec",
    ]);
    assert.deepEqual(ids("high"), ["p-restart", "p-isolate", "p-architect", "rec"]);
    assert.deepEqual(ids("crit"), ["p-isolate", "p-architect", "rec"]);
    assert.deepEqual(s.depth(), {
      all: { pending: 7, dead: 0 },
      high: { pending: 4, dead: 0 },
      crit: { pending: 3, dead: 0 },
    });
    const row = s.head("high")!;
    assert.equal(row.peer.name, "p");
    assert.equal(row.peer.status, "OFFLINE");
    assert.equal(row.state, "pending");
    assert.equal(row.attempts, 0);
  });

  void test("no sinks → no rows and no onAppend", () => {
    const s = mem([]);
    let n = 0;
    s.onAppend(() => n++);
    seedIncident(s);
    assert.equal(s.list({}).length, 0);
    assert.deepEqual(s.depth(), {});
    assert.equal(n, 0);
  });

  void test("head/markRetry/markDelivered/markDead keep seq order per sink", () => {
    let now = 1_000;
    const s = SqliteStore.openFile(":memory:", { sinks: SINKS, node: "n", clock: { now: () => now } });
    stores.push(s);
    seedIncident(s);
    const h1 = s.head("high")!;
    assert.equal(h1.action.id, "p-restart");
    assert.equal(h1.created_at, 1_000);
    s.markRetry(h1.seq, 5_000, "status 503");
    const again = s.head("high")!;
    assert.equal(again.seq, h1.seq, "a retried row stays the head until it is done");
    assert.equal(again.attempts, 1);
    assert.equal(again.next_attempt_at, 5_000);
    assert.equal(again.last_error, "status 503");
    now = 6_000;
    s.markDelivered(h1.seq, now);
    const h2 = s.head("high")!;
    assert.equal(h2.action.id, "p-isolate");
    s.markDead(h2.seq, "status 400: bad payload", now);
    assert.equal(s.head("high")!.action.id, "p-architect");
    assert.equal(s.head("all")!.action.id, "p-alert", "other sinks are independent");
    const dead = s.list({ state: "dead" });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.last_error, "status 400: bad payload");
    const delivered = s.list({ state: "delivered", sink: "high" });
    assert.equal(delivered[0]!.delivered_at, 6_000);
    assert.equal(delivered[0]!.attempts, 2);
    assert.equal(delivered[0]!.last_error, null);
    assert.deepEqual(s.depth().high, { pending: 1, dead: 1 });
    // late duplicate marks are harmless; unknown rows are an error
    s.markDelivered(h1.seq, 9_999);
    assert.equal(s.list({ state: "delivered", sink: "high" })[0]!.delivered_at, 6_000);
    assert.throws(() => s.markRetry(9999, 1, "x"), {
      code: "WDM_STATE_STORE",
      message: /outbox row 9999: no such row/,
    });
    s.markDelivered(s.head("high")!.seq, now);
    assert.equal(s.head("high"), undefined);
  });

  void test("head(sink, afterSeq) skips rows the caller holds; markDeliveredMany writes all marks in one transaction", () => {
    const s = mem();
    seedIncident(s); // "all": p-alert, p-restart, p-isolate, p-architect
    const all = s.list({ sink: "all" });
    assert.equal(s.head("all", all[1]!.seq)!.action.id, "p-isolate");
    assert.equal(s.head("all", all[3]!.seq), undefined);
    s.markDeliveredMany([
      { seq: all[0]!.seq, at: 100 },
      { seq: all[1]!.seq, at: 200 },
    ]);
    assert.deepEqual(
      s.list({ sink: "all", state: "delivered" }).map((r) => [r.action.id, r.delivered_at, r.attempts]),
      [
        ["p-alert", 100, 1],
        ["p-restart", 200, 1],
      ],
    );
    assert.equal(s.head("all")!.action.id, "p-isolate");
    // An unknown row fails the whole batch: nothing of it is written.
    assert.throws(
      () =>
        s.markDeliveredMany([
          { seq: all[2]!.seq, at: 300 },
          { seq: 9999, at: 300 },
        ]),
      { code: "WDM_STATE_STORE", message: /outbox row 9999: no such row/ },
    );
    assert.equal(s.head("all")!.action.id, "p-isolate");
    assert.equal(s.depth().all!.pending, 2);
  });

  void test("outbox rows carry the effect result once recorded", () => {
    const s = mem();
    seedIncident(s);
    s.recordEffectResult("p-restart", { ok: true, detail: "systemctl restart p.service", main_pid: 42 });
    assert.deepEqual(s.head("high")!.action.result, {
      ok: true,
      detail: "systemctl restart p.service",
      main_pid: 42,
    });
  });
});

void describe("deliveries in the journal", () => {
  void test("each entry lists its sinks' outbox state; a dead-lettered alert shows with its reason; the chain still verifies", () => {
    const s = mem();
    const live: JournalEntry[] = [];
    s.onJournal((e) => live.push(e));
    seedIncident(s); // alert → all; restart → all, high; isolate, architect → all, high, crit
    s.commit(transition("q", state(), [action("q-info", "q", "alert", "INFO", null)]));
    assert.deepEqual(
      live.map((e) => e.deliveries?.map((d) => d.sink)),
      [["all"], ["all", "high"], ["all", "high", "crit"], ["all", "high", "crit"], ["all"]],
      "entries announced at commit carry their routing, all pending",
    );
    assert.ok(
      live.every((e) =>
        e.deliveries?.every((d) => d.state === "pending" && d.attempts === 0 && d.last_error === null),
      ),
    );
    const before = s.verifyJournal();

    const restartHigh = s.list({ sink: "high" }).find((r) => r.action.id === "p-restart")!;
    s.markRetry(restartHigh.seq, 0, "HTTP 503: busy");
    s.markDead(restartHigh.seq, "HTTP 400: payload rejected", 0);
    const restartAll = s.list({ sink: "all" }).find((r) => r.action.id === "p-restart")!;
    s.markDelivered(restartAll.seq, 0);

    const restart = s.journal().find((e) => e.id === "p-restart")!;
    assert.deepEqual(restart.deliveries, [
      { sink: "all", state: "delivered", attempts: 1, last_error: null },
      { sink: "high", state: "dead", attempts: 1, last_error: "HTTP 400: payload rejected" },
    ]);
    const alert = s.journal().find((e) => e.id === "p-alert")!;
    assert.deepEqual(alert.deliveries, [{ sink: "all", state: "pending", attempts: 0, last_error: null }]);
    // A page that starts mid-journal merges its own entries' rows only.
    assert.deepEqual(
      s.journal(1, 1)[0]!.deliveries?.map((d) => `${d.sink}:${d.state}`),
      ["all:delivered", "high:dead"],
    );
    assert.equal(restart.hash, live[1]!.hash, "the hash does not change with the delivery state");
    assert.deepEqual(s.verifyJournal(), before);
    assert.deepEqual(s.verifyJournal(), { ok: true, checked: 5 });
  });

  void test("an entry routed to no sink has an empty deliveries array", () => {
    const s = mem([]);
    seedIncident(s);
    assert.ok(s.journal().every((e) => Array.isArray(e.deliveries) && e.deliveries.length === 0));
  });
});

void describe("effects and isolation", () => {
  void test("effects are written pending with their transition and finished once", () => {
    const s = mem();
    seedIncident(s);
    assert.deepEqual(
      s.pendingEffects().map((e) => [e.id, e.kind, e.status]),
      [
        ["p-restart", "restart", "pending"],
        ["p-isolate", "isolate", "pending"],
      ],
    );
    s.recordEffectResult("p-restart", { ok: true });
    assert.deepEqual(
      s.pendingEffects().map((e) => e.id),
      ["p-isolate"],
    );
    assert.deepEqual(s.effect("p-restart"), {
      id: "p-restart",
      peer: "p",
      kind: "restart",
      attempt: 1,
      status: "done",
      result: { ok: true },
      against: null,
    });
    s.recordEffectResult("p-restart", { ok: false, error: "second" }); // idempotent: first result stands
    assert.deepEqual(s.effect("p-restart")!.result, { ok: true });
    assert.throws(() => s.recordEffectResult("nope", { ok: true }), {
      code: "WDM_STATE_STORE",
      message: /no effect with id nope/,
    });
  });

  void test("isolation record is kept (across reopen) and cleared only by a successful release", (t) => {
    const d = tmp(t);
    const s = open(d);
    seedIncident(s);
    const rec = systemdNetworkRecord("p.service");
    s.recordEffectResult("p-isolate", { ok: true }, rec);
    assert.deepEqual(s.isolation("p"), rec);
    s.close();
    const s2 = open(d);
    assert.deepEqual(s2.isolation("p"), rec);
    assert.deepEqual(s2.loadPeers().find((x) => x.name === "p")!.isolation, rec);
    s2.commit(transition("p", state(), [action("rel1", "p", "release", "INFO", "inc-1")]));
    s2.recordEffectResult("rel1", { ok: false, error: "systemctl failed" });
    assert.deepEqual(s2.isolation("p"), rec, "a failed release keeps the record");
    s2.commit(transition("p", state(), [action("rel2", "p", "release", "INFO", null)]));
    s2.recordEffectResult("rel2", { ok: true });
    assert.equal(s2.isolation("p"), null);
    assert.equal(s2.isolation("unknown"), null);
  });
});

void test("an isolation record stored before the structured form (steps with was: prefixes) reads back structured", (t) => {
  const d = tmp(t);
  const s = open(d);
  seedIncident(s);
  // What an older version stored for a network isolation that replaced IPAddressDeny=10.0.0.0/8.
  s.recordEffectResult(
    "p-isolate",
    { ok: true },
    {
      method: "systemd",
      unit: "p.service",
      applied: ["IPAddressDeny=any", "was:IPAddressDeny=10.0.0.0/8", "mask", "stop"],
    },
  );
  s.close();
  const s2 = open(d);
  assert.deepEqual(s2.isolation("p"), {
    method: "systemd",
    unit: "p.service",
    applied: ["IPAddressDeny=any", "mask", "stop"],
    systemd: {
      mode: "network",
      network: { previousDeny: "10.0.0.0/8", previousAllow: "" },
      masked: true,
      stopped: true,
      frozen: false,
    },
  });
  s2.close();
});

void describe("incidents", () => {
  void test("open with the first action of a new incident id, close on recovered and on release", () => {
    const s = mem();
    seedIncident(s, "p", "i1");
    s.commit(transition("q", state(), [action("q1", "q", "alert", "MEDIUM", "i2")]));
    let open = s.openIncidents();
    assert.deepEqual(
      open.map((i) => [i.incident_id, i.peer, i.last_action.id]),
      [
        ["i1", "p", "p-architect"],
        ["i2", "q", "q1"],
      ],
    );
    assert.equal(open[0]!.opened_at, Date.UTC(2025, 0, 1));
    s.commit(transition("q", state(), [action("q2", "q", "recovered", "INFO", "i2")]));
    open = s.openIncidents();
    assert.deepEqual(
      open.map((i) => i.incident_id),
      ["i1"],
    );
    s.commit(transition("p", state(), [action("rel", "p", "release", "INFO", null)]));
    assert.deepEqual(s.openIncidents(), []);
  });
});

void describe("peer state", () => {
  void test("reopen the same file: loadPeers returns the committed state", (t) => {
    const d = tmp(t);
    const s = open(d);
    seedIncident(s);
    s.commit(transition("q", state({ status: "HEALTHY", lastSeenAt: 77 }), []));
    s.close();
    s.close(); // idempotent
    const s2 = open(d);
    const peers = s2.loadPeers();
    assert.deepEqual(
      peers.map((p) => p.name),
      ["p", "q"],
    );
    assert.deepEqual(peers[0]!.state, state({ status: "ISOLATED", restarts: 1, incidentId: "inc-1" }));
    assert.deepEqual(peers[1]!.state, state({ status: "HEALTHY", lastSeenAt: 77 }));
    assert.throws(() => s.journal(), { code: "WDM_STATE_STORE", message: /closed/ });
  });

  void test("saveState is buffered, written by flush/close/timer; a later commit supersedes it", async (t) => {
    const d = tmp(t);
    const s = open(d, SINKS, { stateFlushMs: 30 });
    const file = join(d, STATE_FILE_NAME);
    const readRaw = (): Record<string, number | null> => {
      const raw = new Database(file, { readonly: true });
      const rows = raw.prepare("SELECT name, state FROM peers").all() as Array<{
        name: string;
        state: string;
      }>;
      raw.close();
      return Object.fromEntries(
        rows.map((r) => [r.name, (JSON.parse(r.state) as { lastSeenAt: number | null }).lastSeenAt]),
      );
    };
    s.saveState("p", state({ status: "HEALTHY", lastSeenAt: 1 }));
    s.saveState("p", state({ status: "HEALTHY", lastSeenAt: 2 }));
    assert.deepEqual(readRaw(), {}, "not written yet");
    s.flush();
    assert.deepEqual(readRaw(), { p: 2 });
    s.saveState("p", state({ status: "HEALTHY", lastSeenAt: 3 }));
    // the timer writes it
    await until("the buffered state written by the timer", () => readRaw().p === 3);
    assert.deepEqual(readRaw(), { p: 3 });
    s.saveState("p", state({ status: "HEALTHY", lastSeenAt: 4 }));
    s.commit(
      transition("p", state({ status: "DEGRADED", missed: 1, lastSeenAt: 4, incidentId: "i" }), [
        action("a", "p", "alert", "MEDIUM", "i"),
      ]),
    );
    s.flush();
    assert.equal(
      s.loadPeers()[0]!.state.status,
      "DEGRADED",
      "the buffered older state did not overwrite the commit",
    );
    s.saveState("q", state({ lastSeenAt: 9 }));
    s.close();
    assert.deepEqual(readRaw(), { p: 4, q: 9 });
  });
});
