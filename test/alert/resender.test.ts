import { test } from "node:test";
import assert from "node:assert/strict";
import type { DeliverOptions, DeliveryOutcome, PostRequest } from "../../src/alert/deliver.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SinkWorker } from "../../src/alert/worker.js";
import type { AmAlert } from "../../src/alert/format-alertmanager.js";
import { MemoryOutbox, makeAction } from "../helpers/memory-outbox.js";
import { FakeClock, turnsUntil } from "../helpers/fake-clock.js";

const am: SinkConfig = {
  name: "am",
  kind: "alertmanager",
  url: "http://127.0.0.1:9093",
  resendIntervalMs: 60_000,
  minSeverity: "MEDIUM",
  timeoutMs: 1000,
  maxAgeMs: 86_400_000,
  headers: {},
};

function setup() {
  const time = new FakeClock(Date.parse("2025-01-02T03:04:05.000Z"), { auto: true });
  const outbox = new MemoryOutbox(() => time.now());
  const posts: Array<{ at: number; alerts: AmAlert[]; url: string }> = [];
  const send = async (req: PostRequest, _o: DeliverOptions): Promise<DeliveryOutcome> => {
    posts.push({ at: time.now(), alerts: JSON.parse(req.body) as AmAlert[], url: req.url });
    await new Promise<void>((r) => setImmediate(r));
    return { kind: "delivered", status: 200 };
  };
  const worker = new SinkWorker({
    sink: am,
    outbox,
    clock: time,
    send,
    generatorURL: "http://127.0.0.1:9760/",
  });
  outbox.onAppend(() => worker.wake());
  return { time, outbox, posts, worker };
}

test("a firing incident is re-sent every resendIntervalMs with startsAt = incident start, until it closes", async () => {
  const { time, outbox, posts, worker } = setup();
  const opened = time.now();
  const restart = makeAction({ action: "restart", severity: "HIGH", incident_id: "inc-1" });
  outbox.incidents.set("inc-1", {
    incident_id: "inc-1",
    peer: "sidecar",
    opened_at: opened - 5000,
    last_action: restart,
  });
  outbox.append("am", restart);
  worker.start();
  await turnsUntil("first delivery and three re-sends", () => posts.length >= 4);
  // close the incident: the recovered row resolves, and re-sends stop
  outbox.incidents.clear();
  const recovered = makeAction({ action: "recovered", severity: "INFO", incident_id: "inc-1" });
  outbox.append("am", recovered);
  await turnsUntil("resolution delivered", () => outbox.depth()["am"]?.pending === 0);
  const nPosts = posts.length;
  const tClosed = time.now();
  await turnsUntil("three intervals more", () => time.now() - tClosed >= 180_000);
  await worker.stop();

  const [first, ...rest] = posts;
  assert.equal(first?.url, "http://127.0.0.1:9093/api/v2/alerts");
  assert.equal(first?.alerts[0]?.labels["severity"], "high");
  assert.equal(first?.alerts[0]?.startsAt, new Date(opened - 5000).toISOString());
  assert.equal(first?.alerts[0]?.generatorURL, "http://127.0.0.1:9760/");
  const resends = rest.slice(0, 3);
  for (const [i, r] of resends.entries()) {
    assert.equal(r.at - opened, 60_000 * (i + 1), `re-send ${i + 1} one interval after the previous`);
    assert.equal(r.alerts[0]?.endsAt, undefined);
    assert.equal(r.alerts[0]?.startsAt, new Date(opened - 5000).toISOString());
    assert.equal(r.alerts[0]?.labels["peer"], "sidecar");
  }
  const resolution = posts[nPosts - 1];
  assert.ok(resolution?.alerts.every((a) => a.endsAt === recovered.timestamp));
  assert.equal(posts.length, nPosts, "no re-sends after the incident closed");
  assert.equal(worker.stats().resent, nPosts - 2);
});

test("incidents below the sink's min_severity are not re-sent", async () => {
  const { time, outbox, posts, worker } = setup();
  const info = makeAction({ action: "alert", severity: "INFO", incident_id: "inc-2" });
  outbox.incidents.set("inc-2", {
    incident_id: "inc-2",
    peer: "sidecar",
    opened_at: time.now(),
    last_action: info,
  });
  const t0 = time.now();
  worker.start();
  await turnsUntil("five intervals", () => time.now() - t0 >= 300_000);
  await worker.stop();
  assert.equal(posts.length, 0);
});
