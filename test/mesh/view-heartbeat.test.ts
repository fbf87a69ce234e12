// A member's heartbeat answered by a view verified since its previous heartbeat; every
// other case is probed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ViewHeartbeats } from "../../src/mesh/view-heartbeat.js";
import type { ReceivedView } from "../../src/mesh/views.js";
import type { ProbeSpec } from "../../src/core/options.js";
import { memberPeerSpec } from "../../src/mesh/mesh-node.js";

const members = [{ name: "wd-b", url: "http://127.0.0.1:9801/" }];
const hb = (node = "wd-b", url = "http://127.0.0.1:9801"): ProbeSpec => ({
  heartbeat: { url, node, key: "k".repeat(16), from: "wd-a", mesh: "m" },
});
const view = (receivedAt: number, extra: Partial<ReceivedView> = {}): ReceivedView => ({
  node: "wd-b",
  receivedAt,
  peers: new Map(),
  inFlight: [],
  rttMs: 3,
  unfit: null,
  ...extra,
});

/** Heartbeats at `times` with the latest view `latest(t)`; the results (undefined: probed). */
function run(times: number[], latest: (t: number) => ReceivedView | undefined, spec = hb()) {
  let now = 0;
  const beats = new ViewHeartbeats(members, () => latest(now));
  return times.map((t) => {
    now = t;
    return beats.answer(spec, t);
  });
}

const rows: Array<[string, number[], (t: number) => ReceivedView | undefined, Array<boolean>]> = [
  ["the first heartbeat is always probed", [1000], () => view(900), [false]],
  ["a view asked since the previous heartbeat answers it", [1000, 2000], () => view(1500), [false, true]],
  ["a view asked before the previous heartbeat does not", [1000, 2000], () => view(999), [false, false]],
  ["a view asked at the previous heartbeat does not", [1000, 2000], () => view(1000), [false, false]],
  ["no view: probed", [1000, 2000], () => undefined, [false, false]],
  ["one view answers one heartbeat only", [1000, 2000, 2500], () => view(1500), [false, true, false]],
  [
    "a member that cannot record what it does: probed (its /health says so)",
    [1000, 2000],
    () => view(1500, { unfit: "state store cannot commit" }),
    [false, false],
  ],
  [
    "a member that does not say whether it can (an older node): probed",
    [1000, 2000],
    () => {
      const { unfit: _, ...v } = view(1500);
      return v;
    },
    [false, false],
  ],
];
for (const [name, times, latest, answered] of rows) {
  test(name, () => {
    const out = run(times, latest);
    assert.deepEqual(
      out.map((r) => r !== undefined),
      answered,
    );
    for (const r of out) if (r) assert.deepEqual(r, { ok: true, duration_ms: 3 });
  });
}

test("a heartbeat of a node that is not this member (other name or URL), or another probe kind, is probed", () => {
  const always = () => view(1500);
  assert.deepEqual(run([1000, 2000], always, hb("wd-c")), [undefined, undefined]);
  assert.deepEqual(run([1000, 2000], always, hb("wd-b", "http://127.0.0.1:9802")), [undefined, undefined]);
  const http: ProbeSpec = { http: { url: "http://127.0.0.1:9801/health" } };
  assert.deepEqual(run([1000, 2000], always, http), [undefined, undefined]);
});

test("the heartbeat spec a member is watched with is answered, whatever trailing slashes its configured URL had", () => {
  const spec = memberPeerSpec({ name: "wd-b", url: "http://127.0.0.1:9801//" }, "k".repeat(16), "wd-a", "m");
  assert.deepEqual(
    run([1000, 2000], () => view(1500), spec.probe).map((r) => r !== undefined),
    [false, true],
  );
});
