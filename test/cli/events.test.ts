import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startApi, type Harness } from "../api/harness.js";
import { formatEntry } from "../../src/cli/commands/events.js";
import type { JournalEntry } from "../../src/store/types.js";
import { until } from "../helpers/wait.js";
import { cli, startCli } from "./harness.js";

void describe("wdmesh events", () => {
  let h: Harness;
  before(async () => {
    h = await startApi();
    h.backend.append({
      peer_name: "sidecar",
      action: "alert",
      severity: "MEDIUM",
      reason: "1 missed heartbeat",
    });
    h.backend.append({
      peer_name: "sidecar",
      action: "restart",
      severity: "HIGH",
      reason: "3 missed heartbeats",
      result: { ok: false, error: "unit not found" },
    });
    h.backend.append({
      peer_name: "sidecar",
      action: "recovered",
      severity: "INFO",
      reason: "answered again",
    });
  });
  after(() => h.close());

  void test("prints the journal oldest first; --after and --json", async () => {
    const r = await cli(["events", "--url", h.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^#1 \S+ MEDIUM\s+alert\s+sidecar: 1 missed heartbeat$/);
    assert.match(lines[1]!, /^#2 .*restart\s+sidecar: 3 missed heartbeats \[FAILED: unit not found\]$/);
    const j = await cli(["events", "--after", "1", "--json", "--url", h.url]);
    const entries = j.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      entries.map((e) => e.seq),
      [2, 3],
    );
    assert.equal(entries[0].hash, h.backend.journal[1]!.hash);
    const bad = await cli(["events", "--after", "x", "--url", h.url]);
    assert.equal(bad.code, 2);
  });

  void test("pages through more entries than one API page", async () => {
    const h2 = await startApi();
    try {
      for (let i = 0; i < 2500; i++) h2.backend.append({ peer_name: "p", action: "alert" });
      const r = await cli(["events", "--json", "--url", h2.url]);
      assert.equal(r.code, 0, r.stderr);
      const seqs = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).seq);
      assert.equal(seqs.length, 2500);
      assert.equal(seqs[2499], 2500);
      const v = await cli(["events", "--verify", "--url", h2.url]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /journal ok: 2500 entries verified/);
    } finally {
      await h2.close();
    }
  });

  void test("--verify reports ok, then the first broken link of a tampered chain (exit 1)", async () => {
    const ok = await cli(["events", "--verify", "--url", h.url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /journal ok: 3 entries verified/);

    const h2 = await startApi();
    try {
      for (let i = 0; i < 5; i++)
        h2.backend.append({ peer_name: "shield", action: "alert", reason: `miss ${i}` });
      // Rewrite history: entry 3's reason changes, its stored hash does not.
      h2.backend.journal[2] = { ...h2.backend.journal[2]!, reason: "nothing happened" };
      const r = await cli(["events", "--verify", "--url", h2.url]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /journal BROKEN at seq 3: .+\(2 entries before it verified\)/);
    } finally {
      await h2.close();
    }
    const combo = await cli(["events", "--verify", "--follow", "--url", h.url]);
    assert.equal(combo.code, 2);
  });

  void test("--follow prints history, then new entries from the stream; Ctrl-C (the abort signal) exits 0", async () => {
    const run = startCli(["events", "--follow", "--url", h.url]);
    await until("the history", () => run.stdout().includes("#3 "));
    await until("the stream to connect", () => h.backend.listenerCount > 0);
    h.backend.append({
      peer_name: "shield",
      action: "isolate",
      severity: "CRITICAL",
      reason: "3 failed restarts",
    });
    await until("the streamed entry", () => run.stdout().includes("#4 "));
    run.stop();
    const r = await run.result;
    assert.equal(r.code, 0, r.stderr);
    const seqs = [...r.stdout.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
    assert.deepEqual(seqs, [1, 2, 3, 4], "each entry exactly once");
    assert.match(r.stdout, /CRITICAL isolate\s+shield: 3 failed restarts/);
  });
});

void describe("wdmesh events: deliveries in the human output", () => {
  const base: JournalEntry = {
    seq: 7,
    timestamp: "2025-01-01T00:00:00.000Z",
    peer_name: "shield",
    action: "isolate",
    reason: "3 failed restarts",
    severity: "CRITICAL",
    id: "a7",
    incident_id: "inc-1",
    node: "immune",
    prev_hash: "0".repeat(64),
    hash: "f".repeat(64),
  };

  void test("dead and pending sinks are named with attempts and last error; delivered ones are not", () => {
    const line = formatEntry({
      ...base,
      result: { ok: true },
      deliveries: [
        { sink: "architect", state: "delivered", attempts: 1, last_error: null },
        { sink: "webhook", state: "dead", attempts: 1, last_error: "HTTP 400: bad payload" },
        { sink: "am", state: "pending", attempts: 3, last_error: "connect ECONNREFUSED 127.0.0.1:9093" },
        { sink: "pd", state: "pending", attempts: 0, last_error: null },
      ],
    });
    assert.equal(
      line,
      "#7 2025-01-01T00:00:00.000Z CRITICAL isolate         shield: 3 failed restarts [ok]" +
        " [webhook: dead (HTTP 400: bad payload); am: pending, 3 attempts (connect ECONNREFUSED 127.0.0.1:9093); pd: pending]\n",
    );
  });

  void test("all delivered, none routed, or no deliveries field: nothing added; long errors are clipped", () => {
    const plain = formatEntry(base);
    assert.equal(formatEntry({ ...base, deliveries: [] }), plain);
    assert.equal(
      formatEntry({
        ...base,
        deliveries: [{ sink: "a", state: "delivered", attempts: 2, last_error: null }],
      }),
      plain,
    );
    const long = formatEntry({
      ...base,
      deliveries: [{ sink: "a", state: "dead", attempts: 1, last_error: `HTTP 400: ${"x".repeat(500)}` }],
    });
    assert.match(long, /\[a: dead \(HTTP 400: x+…\)\]\n$/);
    assert.ok(long.length < plain.length + 160, "the error is clipped to about 120 characters");
  });
});
