// Which failed probes are inconclusive (this node's own trouble) and which are misses:
// one row per rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inconclusiveWhy, STALL_FRACTION } from "../../src/health/inconclusive.js";
import type { ProbeResult } from "../../src/core/types.js";

const fail = (error: string | undefined, inconclusive?: boolean): ProbeResult => ({
  ok: false,
  duration_ms: 10,
  ...(error === undefined ? {} : { error }),
  ...(inconclusive === undefined ? {} : { inconclusive }),
});

const TIMEOUT = 1_000;
const rows: Array<{ rule: string; result: ProbeResult; stalled: number; want: string | null }> = [
  {
    rule: "a prober that already marked it inconclusive keeps its error",
    result: fail("heartbeat: key not loaded", true),
    stalled: 0,
    want: "heartbeat: key not loaded",
  },
  {
    rule: "out of file descriptors is this node's own failure",
    result: fail("connect EMFILE 127.0.0.1:8080"),
    stalled: 0,
    want: "connect EMFILE 127.0.0.1:8080 (this node's own failure: EMFILE)",
  },
  {
    rule: "no local ports left is this node's own failure",
    result: fail("connect EADDRNOTAVAIL 127.0.0.1:8080"),
    stalled: 0,
    want: "connect EADDRNOTAVAIL 127.0.0.1:8080 (this node's own failure: EADDRNOTAVAIL)",
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
    rule: "a timeout while this node stalled for more than the fraction is inconclusive",
    result: fail("timeout after 1000 ms (headers)"),
    stalled: 600.4,
    want: "timeout after 1000 ms (headers) while this node itself was stalled for 600 ms",
  },
];

for (const row of rows)
  test(row.rule, () => {
    let asked = 0;
    const got = inconclusiveWhy(row.result, TIMEOUT, () => {
      asked++;
      return row.stalled;
    });
    assert.equal(got, row.want);
    const isTimeout =
      row.result.error?.startsWith("timeout after ") === true && row.result.inconclusive !== true;
    assert.equal(asked, isTimeout ? 1 : 0, "the stall is measured for a timeout only");
  });
