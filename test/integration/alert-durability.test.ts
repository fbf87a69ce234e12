// No alert is lost when the watchdog dies: rows committed to the SQLite outbox survive a
// SIGKILL of the process that wrote them, and a new store + worker on the same file
// delivers them, in order, with the effect results recorded before the crash.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createAlerting } from "../../src/alert/dispatcher.js";
import type { SinkConfig } from "../../src/alert/sink-config.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { Receiver, signedWith } from "../helpers/receiver.js";
import { commitLadder } from "../alert/commit.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";

const sink = (url: string): SinkConfig => ({
  name: "architect",
  kind: "webhook",
  format: "generic",
  url,
  secret: "k",
  minSeverity: "INFO",
  timeoutMs: 2000,
  maxAgeMs: 86_400_000,
  headers: {},
});
const ROUTES = [{ name: "architect", minSeverity: "INFO" as const }];

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

test("rows committed by a process killed with SIGKILL are delivered by the next store and worker", async (t) => {
  const dir = tempDir(t, "wdmesh-durable-");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "../alert/fixtures/commit-and-hang.ts"), dir],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(lines, "line"),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("child did not commit within 30 s")), 30_000).unref(),
    ),
  ])) as [string];
  const ids = JSON.parse(line) as string[];
  child.kill("SIGKILL");
  await once(child, "exit");
  assert.equal(child.signalCode, "SIGKILL");

  const rx = await new Receiver().start();
  cleanup.push(() => rx.stop());
  const store = SqliteStore.open({ dataDir: dir, node: "immune", sinks: ROUTES });
  cleanup.push(() => store.close());
  assert.equal(store.depth()["architect"]?.pending, 6, "all six rows survived the crash");
  // Effects the dead process never finished hold their alert at most effectWaitMs (1.5 s here).
  const alerting = createAlerting({ sinks: [sink(rx.url("/hook"))], outbox: store, effectWaitMs: 1500 });
  cleanup.push(() => alerting.stop());
  alerting.start();
  await rx.waitFor(6);
  await until("drained", () => store.depth()["architect"]?.pending === 0);
  assert.deepEqual(
    rx.requests.map((r) => r.headers["idempotency-key"]),
    ids,
  );
  for (const r of rx.requests) assert.ok(signedWith("k", r));
  const restart = JSON.parse(rx.requests[1]?.body ?? "{}") as { action: string; result?: unknown };
  assert.equal(restart.action, "restart");
  assert.deepEqual(restart.result, { ok: true, detail: "systemctl restart sidecar.service", main_pid: 777 });
  // effects that were never finished (the process died first) are sent without a result
  for (const i of [2, 3, 4])
    assert.equal((JSON.parse(rx.requests[i]?.body ?? "{}") as { result?: unknown }).result, undefined);
});

test("a worker stopped mid-retry and a store closed: a new store and worker resume with the attempts kept", async (t) => {
  const dir = tempDir(t, "wdmesh-durable-");
  const rx = new Receiver();
  await rx.start();
  const port = rx.port;
  await rx.stop();
  cleanup.push(() => rx.stop());

  const first = SqliteStore.open({ dataDir: dir, node: "immune", sinks: ROUTES });
  const a1 = createAlerting({
    sinks: [sink(rx.url("/hook"))],
    outbox: first,
    backoff: { initialMs: 30, maxMs: 100, minMs: 10 },
  });
  a1.start();
  const sent = commitLadder(first);
  await until("2 refused attempts", () => (first.head("architect")?.attempts ?? 0) >= 2);
  await a1.stop();
  first.close();

  const second = SqliteStore.open({ dataDir: dir, node: "immune", sinks: ROUTES });
  cleanup.push(() => second.close());
  const kept = second.head("architect");
  assert.equal(kept?.action.id, sent[0]?.id);
  assert.ok((kept?.attempts ?? 0) >= 2);
  assert.match(kept?.last_error ?? "", /connection refused/);
  await rx.start(port);
  const a2 = createAlerting({
    sinks: [sink(rx.url("/hook"))],
    outbox: second,
    backoff: { initialMs: 30, maxMs: 100, minMs: 10 },
  });
  cleanup.push(() => a2.stop());
  a2.start();
  await rx.waitFor(6);
  await until("drained", () => second.depth()["architect"]?.pending === 0);
  assert.deepEqual(
    rx.requests.map((r) => r.headers["idempotency-key"]),
    sent.map((a) => a.id),
  );
});
