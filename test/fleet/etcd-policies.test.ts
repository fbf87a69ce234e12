// Which etcd member a call goes to after one failed: a member that just failed is skipped
// while another has not failed (a cut-off member must not take the retry that keeps this
// node's lease), never when every member failed (etcd down or coming back).
import assert from "node:assert/strict";
import { test } from "node:test";
import { skipFailedMembers } from "../../src/fleet/etcd-policies.js";

type Call = () => Promise<string>;
interface Policy {
  execute(fn: () => string | Promise<string>): Promise<string>;
}

function pool(skipMs: number) {
  let t = 0;
  const make = skipFailedMembers(skipMs, () => t);
  const members = new Map(["a", "b", "c"].map((m) => [m, make(m) as unknown as Policy]));
  const calls: string[] = [];
  const call =
    (m: string, ok: boolean): Call =>
    () =>
      members.get(m)!.execute(() => {
        calls.push(m);
        if (!ok) throw new Error(`${m} cut off`);
        return m;
      });
  return { call, calls, advance: (ms: number) => (t += ms) };
}

test("a member that failed is skipped, without calling it, while the others have not failed", async () => {
  const p = pool(3_000);
  await assert.rejects(p.call("a", false)(), /a cut off/);
  p.advance(1_500);
  await assert.rejects(p.call("a", true)(), /failed a moment ago; trying another/);
  assert.equal(await p.call("b", true)(), "b");
  assert.deepEqual(p.calls, ["a", "b"], "the skipped member was not called");
});

test("after skipMs the member is tried again, and a success clears its failure", async () => {
  const p = pool(3_000);
  await assert.rejects(p.call("a", false)(), /cut off/);
  p.advance(3_000);
  assert.equal(await p.call("a", true)(), "a");
  assert.equal(await p.call("a", true)(), "a");
});

test("when every member failed within skipMs, calls go through at once (etcd coming back)", async () => {
  const p = pool(3_000);
  for (const m of ["a", "b", "c"]) await assert.rejects(p.call(m, false)(), /cut off/);
  p.advance(100);
  assert.equal(await p.call("a", true)(), "a", "not refused for up to skipMs after an outage");
});

test("what the call throws synchronously is a rejection, and counts as a failure", async () => {
  const p = pool(3_000);
  await assert.rejects(p.call("b", false)(), /b cut off/);
  await assert.rejects(p.call("b", true)(), /trying another/);
});
