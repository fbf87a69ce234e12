// A member's heartbeat that finds no view since its previous one waits a moment for a
// streamed view on its way (answerOrWait), one rule per row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ViewHeartbeats, type ViewWaiter } from "../../src/mesh/view-heartbeat.js";
import type { ReceivedView } from "../../src/mesh/views.js";
import type { ProbeSpec } from "../../src/core/options.js";

const URL_B = "http://127.0.0.1:9801";
const spec: ProbeSpec = {
  heartbeat: { url: URL_B, node: "wd-b", key: "k".repeat(16), from: "wd-a", mesh: "m" },
};
const view = (receivedAt: number, unfit: string | null = null): ReceivedView => ({
  node: "wd-b",
  receivedAt,
  peers: new Map(),
  inFlight: [],
  rttMs: 2,
  unfit,
});

interface Row {
  name: string;
  /** The view that arrives while the heartbeat waits (undefined: none). */
  arrives: ReceivedView | undefined;
  waitMs: number;
  /** Whether the member streams (the waiter answers false at once when it does not). */
  streaming: boolean;
  expect: "ok" | "probe";
  /** Whether the heartbeat should have waited at all. */
  waited: boolean;
}

const rows: Row[] = [
  {
    name: "a view arrives while it waits: ok",
    arrives: view(1_500),
    waitMs: 250,
    streaming: true,
    expect: "ok",
    waited: true,
  },
  {
    name: "no view arrives: probed",
    arrives: undefined,
    waitMs: 250,
    streaming: true,
    expect: "probe",
    waited: true,
  },
  {
    name: "the member does not stream: probed, at once",
    arrives: view(1_500),
    waitMs: 250,
    streaming: false,
    expect: "probe",
    waited: true,
  },
  {
    name: "no time to wait: probed, without waiting",
    arrives: view(1_500),
    waitMs: 0,
    streaming: true,
    expect: "probe",
    waited: false,
  },
  {
    name: "the view that arrives says its node cannot record: probed",
    arrives: view(1_500, "store cannot commit"),
    waitMs: 250,
    streaming: true,
    expect: "probe",
    waited: true,
  },
  {
    name: "what arrives is no newer than the previous heartbeat: probed",
    arrives: view(900),
    waitMs: 250,
    streaming: true,
    expect: "probe",
    waited: true,
  },
];

for (const row of rows) {
  test(`answerOrWait: ${row.name}`, async () => {
    let latest: ReceivedView | undefined = view(500);
    let waits = 0;
    const waiter: ViewWaiter = async (member, ms) => {
      assert.equal(member, "wd-b");
      assert.equal(ms, row.waitMs);
      waits++;
      if (!row.streaming || row.arrives === undefined) return false;
      latest = row.arrives;
      return true;
    };
    const beats = new ViewHeartbeats([{ name: "wd-b", url: URL_B }], () => latest, waiter);
    const signal = new AbortController().signal;
    // The first heartbeat has nothing before it: probed, never waiting.
    assert.equal(await beats.answerOrWait(spec, 0, row.waitMs, signal), undefined);
    assert.equal(waits, 0);
    // The view of t=500 answers the heartbeat of t=1000.
    assert.equal((await beats.answerOrWait(spec, 1_000, row.waitMs, signal))?.ok, true);
    assert.equal(waits, 0);
    // At t=2000 no view came since t=1000: the heartbeat waits (or not) for one.
    const r = await beats.answerOrWait(spec, 2_000, row.waitMs, signal);
    assert.equal(r === undefined ? "probe" : r.ok ? "ok" : "miss", row.expect);
    assert.equal(waits > 0, row.waited);
  });
}

test("answerOrWait: not a member's heartbeat is never answered nor waited for", async () => {
  let waits = 0;
  const beats = new ViewHeartbeats(
    [{ name: "wd-b", url: URL_B }],
    () => view(5_000),
    async () => {
      waits++;
      return true;
    },
  );
  const http: ProbeSpec = { http: { url: `${URL_B}/health` } } as ProbeSpec;
  const signal = new AbortController().signal;
  for (const t of [0, 1_000, 2_000]) assert.equal(await beats.answerOrWait(http, t, 250, signal), undefined);
  assert.equal(waits, 0);
  // No promise for a probe that is not a member's heartbeat: the hot path allocates none.
  assert.ok(!(beats.answerOrWait(http, 3_000, 250, signal) instanceof Promise));
});

for (const [name, made, arrived, expect] of [
  [
    "a streamed view made a moment before the previous heartbeat, arrived after it, answers",
    950,
    1_500,
    "ok",
  ],
  ["a streamed view that arrived before the previous heartbeat does not answer", 950, 990, "probe"],
  [
    "a streamed view made more than a period before the previous heartbeat does not answer",
    -10,
    1_500,
    "probe",
  ],
  ["a streamed view made and arrived since the previous heartbeat answers", 1_200, 1_300, "ok"],
] as const) {
  test(`answer: ${name}`, () => {
    let latest: ReceivedView = view(500);
    const beats = new ViewHeartbeats([{ name: "wd-b", url: URL_B }], () => latest);
    assert.equal(beats.answer(spec, 0), undefined);
    assert.equal(beats.answer(spec, 1_000)?.ok, true);
    latest = { ...view(made), arrivedAt: arrived };
    const r = beats.answer(spec, 2_000);
    assert.equal(r === undefined ? "probe" : "ok", expect);
  });
}
