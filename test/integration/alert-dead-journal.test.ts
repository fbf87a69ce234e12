// A dead-lettered alert is visible in the journal, not only in /v1/deliveries: a real
// receiver rejects one webhook with 400, the real worker dead-letters it in the real
// SQLite outbox, and GET /v1/events, the SSE replay and `wdmesh events` show it, while
// the hash chain (`wdmesh events --verify`) still verifies.
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { createAlerting, type Alerting } from "../../src/alert/dispatcher.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { JournalEntry } from "../../src/store/types.js";
import { commitAction, newAction } from "../alert/commit.js";
import { getJson, startApi, type Harness } from "../api/harness.js";
import { cli } from "../cli/harness.js";
import { Receiver } from "../helpers/receiver.js";
import { until } from "../helpers/wait.js";
import { silentLogger } from "../../src/core/logger.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

void describe("dead-lettered alerts in the journal (real receiver, worker, SQLite, API, CLI)", () => {
  const dir = fileTempDir("wdmesh-dead-journal-");
  const rx = new Receiver();
  const errors: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  let store: SqliteStore;
  let alerting: Alerting;
  let api: Harness;

  before(async () => {
    await rx.start();
    // First request rejected for good (400 → dead), the others accepted.
    rx.replies = [{ status: 400, body: "payload rejected: unknown field" }];
    const sink: SinkConfig = {
      name: "webhook",
      kind: "webhook",
      format: "generic",
      url: rx.url("/hook"),
      secret: "whsec-test-0123456789",
      minSeverity: "INFO",
      timeoutMs: 2000,
      maxAgeMs: 86_400_000,
      headers: {},
    };
    store = SqliteStore.open({
      dataDir: dir,
      node: "immune",
      sinks: [{ name: "webhook", minSeverity: "INFO" }],
    });
    alerting = createAlerting({
      sinks: [sink],
      outbox: store,
      logger: {
        ...silentLogger,
        error: (obj, msg) => void errors.push({ obj: obj as Record<string, unknown>, msg }),
      },
    });
    alerting.start();
    commitAction(store, newAction({ action: "alert", severity: "MEDIUM", reason: "1 missed heartbeat" }));
    commitAction(store, newAction({ action: "recovered", severity: "INFO", reason: "answered again" }));
    await until("both rows to be dead-lettered or delivered", () => store.depth()["webhook"]?.pending === 0);

    api = await startApi();
    api.backend.events = (a, l) => store.journal(a, l);
    api.backend.onEvent = (l) => store.onJournal(l);
  });

  after(async () => {
    await api.close();
    await alerting.stop();
    store.close();
    await rx.stop();
  });

  void test("the worker logs the dead-letter at error level", () => {
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.msg, "alert dead-lettered");
    assert.equal(errors[0]!.obj["sink"], "webhook");
    assert.match(String(errors[0]!.obj["reason"]), /^HTTP 400: payload rejected/);
  });

  void test("GET /v1/events: each entry carries its deliveries; the rejected one is dead with the reason", async () => {
    const r = await getJson(`${api.url}/v1/events`);
    assert.equal(r.status, 200);
    const entries = r.body as JournalEntry[];
    assert.equal(entries.length, 2);
    const [dead, ...others] = entries[0]!.deliveries ?? [];
    assert.equal(others.length, 0);
    assert.equal(dead?.sink, "webhook");
    assert.equal(dead?.state, "dead");
    assert.equal(dead?.last_error, "HTTP 400: payload rejected: unknown field");
    assert.deepEqual(entries[1]!.deliveries, [
      { sink: "webhook", state: "delivered", attempts: 1, last_error: null },
    ]);
    // Same picture as the outbox itself.
    assert.deepEqual(
      store.list({ state: "dead" }).map((d) => d.action.id),
      [entries[0]!.id],
    );
  });

  void test("the SSE replay carries deliveries too", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${api.url}/v1/events/stream?after=0`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/^data: /gm) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    ctl.abort();
    await reader.cancel().catch(() => {});
    const data = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as JournalEntry);
    assert.equal(data[0]!.deliveries?.[0]?.state, "dead");
    assert.equal(data[1]!.deliveries?.[0]?.state, "delivered");
  });

  void test("wdmesh events names the dead sink and its reason; --verify still passes", async () => {
    const r = await cli(["events", "--url", api.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      /alert\s+sidecar: 1 missed heartbeat \[webhook: dead \(HTTP 400: payload rejected: unknown field\)\]$/,
    );
    assert.match(lines[1]!, /recovered\s+sidecar: answered again$/, "a delivered alert adds nothing");
    const j = await cli(["events", "--json", "--url", api.url]);
    assert.equal(JSON.parse(j.stdout.trim().split("\n")[0]!).deliveries[0].state, "dead");
    const v = await cli(["events", "--verify", "--url", api.url]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /journal ok: 2 entries verified/);
  });
});
