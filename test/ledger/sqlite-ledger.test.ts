// The step ledger file: its rules hold through SQLite (taken, in flight, ended incident,
// stale and external tokens), across a close and reopen (a node's restart), and under
// the OS lock between processes: two processes contending take each step exactly once,
// and a process frozen inside the lock holds the others at most the wait they were given.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteLedger, type StepLedger } from "../../src/ledger/sqlite-ledger.js";
import type { StepClaim } from "../../src/ledger/rules.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { systemClock } from "../../src/schedule/clock.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { waitFor } from "../helpers/wait.js";

const CLAIMER = fileURLToPath(new URL("../fixtures/ledger-claimer.ts", import.meta.url));

const c = (over: Partial<StepClaim> = {}): StepClaim => ({
  peer: "api",
  incident: "inc-1",
  step: "restart#1",
  effectId: "e1",
  holder: "wd1 pid 1 boot b",
  timeoutMs: 30_000,
  ...over,
});

function open(t: { after(fn: () => void): void }, clock = new FakeClock(undefined, { auto: true })) {
  const dir = join(tempDir(t, "wdmesh-ledger-test-"), "run", "wdmesh");
  const ledger = openSqliteLedger({ dir, clock, holder: "wd1 pid 1 boot b" });
  t.after(() => ledger.close());
  return { dir, ledger, clock };
}

const rule = async (l: StepLedger, claim: StepClaim): Promise<string | number> => {
  const a = await l.claim(claim);
  return a.granted ? a.token : a.rule;
};

test("the ledger directory is created 0700 and a group-writable one is refused", (t) => {
  const { dir } = open(t);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const loose = join(tempDir(t, "wdmesh-ledger-loose-"), "l");
  mkdirSync(loose);
  chmodSync(loose, 0o770);
  assert.throws(
    () => openSqliteLedger({ dir: loose, clock: new FakeClock(), holder: "x" }),
    (e: Error & { code?: string }) => e.code === "WDM_LEDGER" && /chmod 700/.test(e.message),
  );
});

test("a step is taken once; in flight it blocks the peer until its deadline; finished it does not, and its end moves the token", async (t) => {
  const { ledger, clock } = open(t);
  assert.equal(ledger.observe("api"), 0);
  assert.equal(await rule(ledger, c({ seen: 0 })), 1);
  assert.equal(ledger.observe("api"), 1);
  assert.equal(await rule(ledger, c({ holder: "wd2" })), "taken");
  assert.equal(await rule(ledger, c({ step: "restart#2", effectId: "e2", seen: 1 })), "in-flight");
  clock.jump(30_000); // the holder never said it finished: its deadline passed
  assert.equal(await rule(ledger, c({ step: "restart#2", effectId: "e2", seen: 1 })), 2);
  assert.equal(await ledger.finish("api", "e2", "ok", 1_000), true);
  // Evidence gathered while restart#2 ran (token 2) is stale once it ended.
  assert.equal(await rule(ledger, c({ step: "restart#3", effectId: "e3", seen: 2 })), "stale-token");
  assert.equal(ledger.observe("api"), 3);
  assert.equal(await rule(ledger, c({ step: "restart#3", effectId: "e3", seen: 3 })), 4);
});

test("a step in flight blocks whatever the wall clocks say: a node 10 min ahead, a clock stepped forward", async (t) => {
  const { dir, ledger, clock } = open(t);
  // A second node of the host whose wall clock is 10 min ahead (same monotonic clock).
  const ahead = openSqliteLedger({
    dir,
    clock: {
      now: () => clock.now() + 600_000,
      monotonic: () => clock.monotonic(),
      sleep: (ms, signal) => clock.sleep(ms, signal),
    },
    holder: "wd2 pid 2 boot b",
  });
  t.after(() => ahead.close());
  assert.equal(await rule(ledger, c({ seen: 0 })), 1);
  assert.equal(await rule(ahead, c({ step: "restart#2", effectId: "e2", seen: 1 })), "in-flight");
  assert.equal(ahead.inFlight("api")?.step, "restart#1");
  // The wall clock stepped forward an hour (NTP, date -s): the restart still runs.
  clock.setWallClockBy(3_600_000);
  assert.equal(ledger.inFlight("api")?.step, "restart#1");
  assert.equal(await rule(ledger, c({ step: "restart#2", effectId: "e2", seen: 1 })), "in-flight");
  clock.jump(30_000); // its deadline passed on the monotonic clock
  assert.equal(ledger.inFlight("api"), undefined);
  assert.equal(await rule(ahead, c({ step: "restart#2", effectId: "e2", seen: 1 })), 2);
});

test("a stale token, an ended incident and an older external token are refused", async (t) => {
  const { ledger } = open(t);
  assert.equal(await rule(ledger, c({ seen: 0 })), 1);
  await ledger.finish("api", "e1", "ok", 1_000); // token 2
  // A node that read token 0 before its probe acts after wd1's step: fenced.
  assert.equal(await rule(ledger, c({ incident: "inc-b", seen: 0, holder: "wd2" })), "stale-token");
  // The incident ends (recovery): no step of it runs again, and older evidence is stale.
  assert.equal(await ledger.endIncident("api", "inc-1", "wd1", "api is HEALTHY", 1_000), true);
  assert.equal(ledger.observe("api"), 3);
  assert.equal(await rule(ledger, c({ step: "restart#2", effectId: "e2", seen: 3 })), "incident-ended");
  assert.equal(await rule(ledger, c({ incident: "inc-2", effectId: "e3", seen: 2 })), "stale-token");
  // External tokens: never older than the latest accepted.
  assert.equal(await rule(ledger, c({ incident: "inc-2", effectId: "e4", seen: 3, external: 50 })), 4);
  await ledger.finish("api", "e4", "ok", 1_000); // token 5
  assert.equal(
    await rule(ledger, c({ incident: "inc-2", step: "restart#2", effectId: "e5", seen: 5, external: 49 })),
    "stale-external",
  );
  assert.equal(
    await rule(ledger, c({ incident: "inc-2", step: "restart#2", effectId: "e5", seen: 5, external: 50 })),
    6,
  );
});

test("the ledger is on disk: after a close and reopen (a node's restart) its step in flight still blocks", async (t) => {
  const { dir, ledger, clock } = open(t);
  assert.equal(await rule(ledger, c()), 1);
  ledger.close();
  const again = openSqliteLedger({ dir, clock, holder: "wd1 pid 2 boot b" });
  t.after(() => again.close());
  const a = await again.claim(c({ step: "restart#2", effectId: "e2", holder: "wd1 pid 2 boot b" }));
  assert.equal(a.granted, false);
  if (!a.granted) {
    assert.equal(a.rule, "in-flight");
    assert.match(a.reason, /wd1 pid 1 boot b/, "names who took it");
  }
});

function child(args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, ["--import", "tsx", CLAIMER, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { proc, out: () => out };
}

const kill = (p: ChildProcess): void => {
  if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
};

test("two processes contending for the lock take each step exactly once, tokens strictly increasing", async (t) => {
  const dir = join(tempDir(t, "wdmesh-ledger-procs-"), "l");
  const STEPS = 25;
  const procs = ["p1", "p2"].map((n) => child([dir, "claim", n, String(STEPS)]));
  t.after(() => procs.forEach((p) => kill(p.proc)));
  for (const p of procs) await waitFor("claimer ready", () => p.out().includes("ready") || undefined, 30_000);
  for (const p of procs) p.proc.stdin?.write("go\n");
  await Promise.all(
    procs.map((p) => (p.proc.exitCode !== null ? null : new Promise((r) => p.proc.once("exit", r)))),
  );
  const answers = procs.flatMap((p, i) =>
    p
      .out()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => ({ by: i, ...(JSON.parse(l) as { step: number; granted: boolean; token?: number }) })),
  );
  assert.equal(answers.length, 2 * STEPS, procs.map((p) => p.out()).join("\n"));
  for (let s = 1; s <= STEPS; s++) {
    const granted = answers.filter((a) => a.step === s && a.granted);
    assert.equal(granted.length, 1, `step ${s} granted ${granted.length} times`);
  }
  const tokens = answers.filter((a) => a.granted).map((a) => a.token as number);
  assert.equal(new Set(tokens).size, STEPS, "every token given once");
  // Each taker sees its own tokens grow.
  for (const by of [0, 1]) {
    const own = answers.filter((a) => a.by === by && a.granted).map((a) => a.token as number);
    assert.deepEqual(
      own,
      [...own].sort((a, b) => a - b),
    );
  }
});

test("a process frozen inside the lock holds the others for the wait they were given, no longer; then they go on", async (t) => {
  const { dir } = open(t);
  const real = openSqliteLedger({
    dir,
    clock: systemClock,
    holder: "wd1",
  });
  t.after(() => real.close());
  const holder = child([dir, "hold"]);
  t.after(() => kill(holder.proc));
  await waitFor("the lock to be held", () => holder.out().includes("locked") || undefined, 30_000);
  const started = Date.now();
  const a = await real.claim(c(), 300);
  const waited = Date.now() - started;
  assert.equal(a.granted, false);
  if (!a.granted) {
    assert.equal(a.rule, "unavailable");
    assert.match(a.reason, /stayed locked/);
  }
  assert.ok(waited >= 300, `waited ${waited} ms`);
  assert.ok(waited < 10_000, `gave up after the wait, not much later: ${waited} ms`);
  assert.ok(real.observe("api") !== undefined, "reads go on while a writer is frozen");
  kill(holder.proc);
  await new Promise((r) => (holder.proc.exitCode !== null ? r(null) : holder.proc.once("exit", r)));
  const b = await real.claim(c(), 10_000);
  assert.equal(b.granted, true, JSON.stringify(b));
});
