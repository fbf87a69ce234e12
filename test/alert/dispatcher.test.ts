import { test } from "node:test";
import assert from "node:assert/strict";
import { createAlerting } from "../../src/alert/dispatcher.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { MemoryOutbox, makeAction, makePeer } from "../helpers/memory-outbox.js";
import { Receiver, signedWith } from "../helpers/receiver.js";
import { until } from "../helpers/wait.js";

const base = { minSeverity: "INFO" as const, timeoutMs: 2000, maxAgeMs: 86_400_000, headers: {} };

test("createAlerting: one worker per sink, woken by appends, stats per sink, clean stop", async () => {
  const rx = await new Receiver().start();
  const outbox = new MemoryOutbox();
  const sinks: SinkConfig[] = [
    { ...base, name: "a", kind: "webhook", format: "generic", url: rx.url("/a"), secret: "k" },
    { ...base, name: "b", kind: "slack", url: rx.url("/b") },
  ];
  const alerting = createAlerting({ sinks, outbox });
  alerting.start();
  alerting.start();
  outbox.append("a", makeAction());
  outbox.append("b", makeAction());
  outbox.append("a", makeAction());
  await rx.waitFor(3);
  const byPath = (p: string) => rx.requests.filter((r) => r.path === p);
  assert.equal(byPath("/a").length, 2);
  assert.equal(byPath("/b").length, 1);
  for (const r of byPath("/a")) assert.ok(signedWith("k", r));
  // stats settle once the rows are marked
  await until("every row marked", () => !alerting.stats().some((s) => s.pending > 0));
  const stats = alerting.stats();
  assert.deepEqual(
    stats.map((s) => [s.sink, s.kind, s.delivered, s.pending, s.dead]),
    [
      ["a", "webhook", 2, 0, 0],
      ["b", "slack", 1, 0, 0],
    ],
  );
  await alerting.stop();
  await alerting.stop();
  assert.equal(outbox.listenerCount, 0);
  await rx.stop();
});

test("sendTest posts straight to the sink, bypassing the outbox, and reports the outcome", async () => {
  const rx = await new Receiver().start();
  const outbox = new MemoryOutbox();
  const alerting = createAlerting({
    sinks: [
      { ...base, name: "hook", kind: "webhook", format: "generic", url: rx.url("/t"), secret: "k" },
      { ...base, name: "am", kind: "alertmanager", url: rx.url(""), resendIntervalMs: 60_000 },
    ],
    outbox,
    node: "immune",
  });
  const ok = await alerting.sendTest("hook");
  assert.deepEqual(ok, { ok: true, status: 200 });
  const req = rx.requests[0];
  const body = JSON.parse(req?.body ?? "{}") as Record<string, unknown>;
  assert.equal(body["peer_name"], "wdmesh-test");
  assert.equal(body["node"], "immune");
  assert.equal(body["version"], "1");
  assert.ok(signedWith("k", req));
  assert.equal(outbox.rows.length, 0);

  // Alertmanager gets the alert and its resolution, so nothing stays firing
  const amOk = await alerting.sendTest("am");
  assert.equal(amOk.ok, true);
  const amReqs = rx.requests.slice(1);
  assert.deepEqual(
    amReqs.map((r) => r.path),
    ["/api/v2/alerts", "/api/v2/alerts"],
  );
  const resolved = JSON.parse(amReqs[1]?.body ?? "[]") as Array<{ endsAt?: string }>;
  assert.ok(resolved.length > 0 && resolved.every((a) => typeof a.endsAt === "string"));

  rx.replies.push({ status: 400, body: "invalid payload" });
  assert.deepEqual(await alerting.sendTest("hook"), {
    ok: false,
    status: 400,
    error: "HTTP 400: invalid payload",
  });
  await rx.stop();
  const down = await alerting.sendTest("hook");
  assert.equal(down.ok, false);
  assert.match(down.error ?? "", /connection refused/);
  await assert.rejects(
    alerting.sendTest("nope"),
    (e: Error & { code?: string }) => e.code === "WDM_INVALID_OPTION" && /hook, am/.test(e.message),
  );
});

test("hosts: the outbox's alerts, test alerts and direct alerts carry the peer's host, the node's for itself", async () => {
  const rx = await new Receiver().start();
  const outbox = new MemoryOutbox();
  const alerting = createAlerting({
    sinks: [{ ...base, name: "am", kind: "alertmanager", url: rx.url(""), resendIntervalMs: 60_000 }],
    outbox,
    node: "immune",
    hosts: { self: () => "h-node", peer: (name) => (name === "sidecar" ? "h-peer" : undefined) },
  });
  /** The distinct host labels of the i-th request's alerts. */
  const hostLabels = (i: number): string[] => [
    ...new Set(
      (JSON.parse(rx.requests[i]?.body ?? "[]") as Array<{ labels: Record<string, string> }>).map(
        (a) => a.labels["host"] ?? "?",
      ),
    ),
  ];
  try {
    alerting.start();
    outbox.append("am", makeAction());
    await rx.waitFor(1);
    assert.deepEqual(hostLabels(0), ["h-peer"]);
    assert.equal((await alerting.sendTest("am")).ok, true);
    assert.deepEqual([...hostLabels(1), ...hostLabels(2)], ["h-node", "h-node"]);
    const own = makeAction({
      action: "store_failed",
      severity: "CRITICAL",
      peer_name: "immune",
      incident_id: null,
    });
    const [direct] = await alerting.sendDirect(own, makePeer("immune"));
    assert.equal(direct?.ok, true);
    assert.deepEqual(hostLabels(3), ["h-node"]);
  } finally {
    await alerting.stop();
    await rx.stop();
  }
});

test("duplicate sink names are refused", () => {
  const s: SinkConfig = { ...base, name: "x", kind: "slack", url: "http://127.0.0.1:1/" };
  assert.throws(
    () => createAlerting({ sinks: [s, s], outbox: new MemoryOutbox() }),
    /alerts\.x: sink names must be unique/,
  );
});
