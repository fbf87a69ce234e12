// Which failed probes are inconclusive (this node's own trouble) and which are misses:
// one row per rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inconclusiveWhy, STALL_FRACTION, type Inconclusive } from "../../src/health/inconclusive.js";
import type { ProbeResult } from "../../src/core/types.js";

const fail = (error: string | undefined, extra: Partial<ProbeResult> = {}): ProbeResult => ({
  ok: false,
  duration_ms: 10,
  ...(error === undefined ? {} : { error }),
  ...extra,
});

const TIMEOUT = 1_000;
const rows: Array<{ rule: string; result: ProbeResult; stalled: number; want: Inconclusive | null }> = [
  {
    rule: "a prober that marked it inconclusive without a cause is the prober's own fault",
    result: fail("heartbeat: key not loaded", { inconclusive: true }),
    stalled: 0,
    want: { cause: { kind: "prober" }, error: "heartbeat: key not loaded" },
  },
  {
    rule: "out of file descriptors (typed, from this node's own syscall) is this node's own failure",
    result: fail("connect EMFILE 127.0.0.1:8080", { cause: { kind: "local", errno: "EMFILE" } }),
    stalled: 0,
    want: {
      cause: { kind: "local", errno: "EMFILE" },
      error: "connect EMFILE 127.0.0.1:8080 (this node's own failure: EMFILE)",
    },
  },
  {
    rule: "a failed spawn (typed) is this node's own failure",
    result: fail("cannot run /bin/check: spawn EAGAIN", { cause: { kind: "local", errno: "EAGAIN" } }),
    stalled: 0,
    want: {
      cause: { kind: "local", errno: "EAGAIN" },
      error: "cannot run /bin/check: spawn EAGAIN (this node's own failure: EAGAIN)",
    },
  },
  {
    rule: "a GET that never left this node's queue is inconclusive",
    result: fail("timeout after 1000 ms (queued)", { cause: { kind: "queued" } }),
    stalled: 0,
    want: { cause: { kind: "queued" }, error: "timeout after 1000 ms (queued)" },
  },
  {
    rule: "a check that prints ENOMEM and exits 1 is a miss: words never decide",
    result: fail("exit code 1: worker: ENOMEM allocating queue"),
    stalled: 5_000,
    want: null,
  },
  {
    rule: "EMFILE in the text without a typed cause is a miss",
    result: fail("connect EMFILE 127.0.0.1:8080"),
    stalled: 0,
    want: null,
  },
  {
    rule: "a refused connection is a miss",
    result: fail("connect ECONNREFUSED 127.0.0.1:8080"),
    stalled: 5_000,
    want: null,
  },
  { rule: "a wrong status is a miss", result: fail("HTTP 503"), stalled: 5_000, want: null },
  { rule: "a failure without an error text is a miss", result: fail(undefined), stalled: 5_000, want: null },
  {
    rule: "a timeout while this node ran well is a miss",
    result: fail("timeout after 1000 ms (headers)"),
    stalled: 0,
    want: null,
  },
  {
    rule: "a timeout with a stall of exactly the fraction is still a miss",
    result: fail("timeout after 1000 ms"),
    stalled: STALL_FRACTION * TIMEOUT,
    want: null,
  },
  {
    rule: "a timeout while this node stalled for more than the fraction is inconclusive (stall)",
    result: fail("timeout after 1000 ms (headers)"),
    stalled: 600.4,
    want: {
      cause: { kind: "stall", stalled_ms: 600 },
      error: "timeout after 1000 ms (headers) while this node itself was stalled for 600 ms",
    },
  },
];

for (const row of rows)
  test(row.rule, () => {
    let asked = 0;
    const got = inconclusiveWhy(row.result, TIMEOUT, () => {
      asked++;
      return row.stalled;
    });
    assert.deepEqual(got, row.want);
    const isTimeout =
      row.result.error?.startsWith("timeout after ") === true &&
      row.result.inconclusive !== true &&
      row.result.cause === undefined;
    assert.equal(asked, isTimeout ? 1 : 0, "the stall is measured for a timeout without a cause only");
  });
