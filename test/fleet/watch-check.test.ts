// copyBehind: the fleet's copy of its prefix against etcd's newest key and count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyBehind, type CopiedKey } from "../../src/fleet/watch-check.js";

const copy = (rows: Array<[string, number, boolean]>): Map<string, CopiedKey> =>
  new Map(rows.map(([k, rev, live]) => [k, { rev: BigInt(rev), kv: live ? {} : null }]));

void test("copyBehind: current when the count and the newest key agree; behind on a missed put, a missed delete or an unseen key", () => {
  const c = copy([
    ["/f/members/a", 5, true],
    ["/f/obs/x/a", 9, true],
    ["/f/steps/x", 7, false],
  ]);
  assert.equal(copyBehind(c, { count: 2, newest: { key: "/f/obs/x/a", modRevision: 9n } }), false);
  assert.equal(
    copyBehind(c, { count: 2, newest: { key: "/f/obs/x/a", modRevision: 12n } }),
    true,
    "a put not seen",
  );
  assert.equal(
    copyBehind(c, { count: 1, newest: { key: "/f/obs/x/a", modRevision: 9n } }),
    true,
    "a delete not seen",
  );
  assert.equal(
    copyBehind(c, { count: 3, newest: { key: "/f/obs/y/b", modRevision: 13n } }),
    true,
    "a new key",
  );
  assert.equal(copyBehind(new Map(), { count: 0 }), false, "an empty prefix");
  assert.equal(copyBehind(c, { count: 0 }), true, "every key gone");
});
