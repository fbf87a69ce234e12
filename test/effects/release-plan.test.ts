// A release is planned from the isolation record, whatever the config says now; it is
// refused (with the reason) only when neither the record nor the config can undo it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { releasePlan } from "../../src/effects/release-plan.js";
import { readIsolationRecord } from "../../src/core/isolation.js";
import type { IsolationRecord } from "../../src/core/isolation.js";
import type { IsolateSpec } from "../../src/core/options.js";
import type { Executor } from "../../src/act/executor.js";
import { systemdNetworkRecord } from "../helpers/isolation-record.js";

const systemdRecord = systemdNetworkRecord("shield.service");

test("a systemd record is undone as systemd on its own unit, whatever the config now", () => {
  const configs: Array<IsolateSpec | "none" | undefined> = [
    "none",
    undefined,
    { command: { argv: ["/bin/cut"] }, release: { argv: ["/bin/uncut"] } },
  ];
  for (const now of configs) {
    assert.deepEqual(releasePlan(systemdRecord, now), {
      run: { systemd: { unit: "shield.service", mode: "network" } },
    });
  }
  assert.deepEqual(
    releasePlan(systemdRecord, { systemd: { unit: "other.service", timeout: "5s" } }),
    { run: { systemd: { unit: "shield.service", mode: "network", timeout: "5s" } } },
    "the record's unit, the config's deadline",
  );
});

test("a command record runs the release recorded with it, else the configured one, else refuses", () => {
  const rec: IsolationRecord = {
    method: "command",
    applied: ["/bin/cut x"],
    release: { argv: ["/bin/uncut", "x"] },
  };
  const plan = releasePlan(rec, "none");
  assert.ok("run" in plan && "command" in plan.run);
  assert.deepEqual("run" in plan && "command" in plan.run ? plan.run.release : null, {
    argv: ["/bin/uncut", "x"],
  });
  const bare: IsolationRecord = { method: "command", applied: ["/bin/cut x"] };
  const configured = releasePlan(bare, { command: { argv: ["/bin/cut"] }, release: { argv: ["/bin/now"] } });
  assert.deepEqual("run" in configured && "command" in configured.run ? configured.run.release : null, {
    argv: ["/bin/now"],
  });
  const refused = releasePlan(bare, "none");
  assert.ok("refuse" in refused);
  assert.match("refuse" in refused ? refused.refuse : "", /\/bin\/cut x.*no release command/);
});

test("nothing applied: nothing to undo; no record: the config in force", () => {
  assert.ok("nothing" in releasePlan({ method: "none", applied: [] }, "none"));
  assert.ok("nothing" in releasePlan(null, "none"));
  assert.deepEqual(releasePlan(null, { systemd: { unit: "u.service" } }), {
    run: { systemd: { unit: "u.service" } },
  });
});

test("the release command survives the store (readIsolationRecord keeps it)", () => {
  const back = readIsolationRecord(
    JSON.parse(JSON.stringify({ method: "command", applied: ["x"], release: { argv: ["/bin/y"] } })),
  );
  assert.deepEqual(back?.release, { argv: ["/bin/y"] });
  assert.equal(
    readIsolationRecord({ method: "command", applied: ["x"], release: { argv: [] } })?.release,
    undefined,
  );
});

test("Monitor.release refuses what it cannot undo: the peer stays ISOLATED with its record", async () => {
  const { Monitor } = await import("../../src/monitor.js");
  const { FakeProber, MISS } = await import("../helpers/fake-prober.js");
  const { RecordingExecutor } = await import("../helpers/recording-executor.js");
  const ex = new RecordingExecutor();
  (ex as Executor).isolate = async () => ({
    result: { ok: true },
    record: { method: "command", applied: ["/bin/cut"] },
  });
  const m = new Monitor({
    selfName: "n",
    executor: ex,
    prober: new FakeProber(() => MISS),
    missedBeforeRestart: 1,
    restartsBeforeIsolate: 0,
    selfHealth: false,
  });
  const spec = {
    name: "p",
    probe: { http: { url: "http://127.0.0.1:1/p" } },
    restart: { command: { argv: ["/bin/true"] } },
    isolate: { command: { argv: ["/bin/cut"] } },
  };
  m.registerPeer(spec);
  for (let i = 0; i < 5 && m.getPeerStatus("p")?.status !== "ISOLATED"; i++) await m.checkAllPeers();
  assert.equal(m.getPeerStatus("p")?.status, "ISOLATED");
  m.updatePeer({ ...spec, isolate: "none" });
  await assert.rejects(m.release("p"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "WDM_INVALID_STATE");
    assert.match(e.message, /cannot release "p".*\/bin\/cut/);
    return true;
  });
  assert.equal(m.getPeerStatus("p")?.status, "ISOLATED", "still isolated, still releasable later");
  // With a release command configured again, the release goes through.
  m.updatePeer({ ...spec, isolate: { command: { argv: ["/bin/cut"] }, release: { argv: ["/bin/uncut"] } } });
  const rel = await m.release("p");
  assert.equal(rel.result?.ok, true, rel.result?.error);
  await m.stop();
});

test("a container record is undone on the recorded container (by id), through the engine socket configured now; refused without one", () => {
  const record: IsolationRecord = {
    method: "container",
    applied: ["disconnect net-a"],
    container: {
      id: "c0ffee",
      name: "api",
      mode: "network",
      networks: [{ network: "net-a", aliases: ["api"] }],
      paused: false,
      stopped: false,
    } as NonNullable<IsolationRecord["container"]>,
  };
  assert.deepEqual(
    releasePlan(record, { container: { name: "renamed", socket: "/run/podman/podman.sock" } }),
    {
      run: { container: { socket: "/run/podman/podman.sock", id: "c0ffee" } },
    },
  );
  for (const now of ["none", undefined, { systemd: { unit: "x.service" } }] as const) {
    const plan = releasePlan(record, now);
    assert.ok("refuse" in plan, `refused with ${JSON.stringify(now)}`);
    assert.match(plan.refuse, /isolate\.container/);
  }
});
