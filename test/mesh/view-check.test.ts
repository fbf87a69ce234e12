// The view's format check (view-schema.ts: parseMeshView, through verifyView): the
// language it accepts, what it keeps of an accepted view (declared fields only), and
// where it says the first problem is. The last test compares it with the zod schema it
// replaced (kept here as the reference), on generated near-views.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { parseMeshView, verifyView } from "../../src/mesh/view-schema.js";
import { viewProof } from "../../src/mesh/views.js";

const KEY = "k".repeat(32);
const EXPECT = { node: "wd-b", nonce: "n1" };
const STARTED = "2026-01-01T00:00:00.000Z";

type Json = Record<string, unknown>;

const peer = (extra: Json = {}): Json => ({ name: "agent", status: "HEALTHY", missed_count: 0, ...extra });
const step = (extra: Json = {}): Json => ({
  peer: "agent",
  incident: "i-1",
  step: "restart",
  attempt: 1,
  started_at: STARTED,
  ...extra,
});
const view = (extra: Json = {}): Json => ({
  node: "wd-b",
  at: STARTED,
  nonce: "n1",
  peers: [peer()],
  ...extra,
});

/** verifyView on `doc`, serialised and proven with the mesh key. */
function check(doc: unknown): ReturnType<typeof verifyView> {
  const text = JSON.stringify(doc);
  return verifyView(KEY, Buffer.from(text), viewProof(KEY, text), EXPECT);
}

describe("view format: accepted views", () => {
  const accepted: Array<[string, Json, Json]> = [
    ["no peers", view({ peers: [] }), { node: "wd-b", at: STARTED, nonce: "n1", peers: [] }],
    [
      "unknown fields at the top level, in a peer and in a step are dropped",
      view({
        later: { nested: true },
        peers: [peer({ zone: "eu", backs: "wd-a", backs_stable_ms: 5 })],
        in_flight: [step({ reason: "x", age_ms: 3, finished: true })],
      }),
      {
        node: "wd-b",
        at: STARTED,
        nonce: "n1",
        peers: [{ name: "agent", status: "HEALTHY", missed_count: 0, backs: "wd-a", backs_stable_ms: 5 }],
        in_flight: [
          {
            peer: "agent",
            incident: "i-1",
            step: "restart",
            attempt: 1,
            started_at: STARTED,
            age_ms: 3,
            finished: true,
          },
        ],
      },
    ],
    [
      "unfit null (the node says it can record what it does)",
      view({ unfit: null }),
      {
        node: "wd-b",
        at: STARTED,
        nonce: "n1",
        peers: [{ name: "agent", status: "HEALTHY", missed_count: 0 }],
        unfit: null,
      },
    ],
    [
      "backs_stable_ms null",
      view({ peers: [peer({ backs: "wd-a", backs_stable_ms: null })] }),
      {
        node: "wd-b",
        at: STARTED,
        nonce: "n1",
        peers: [{ name: "agent", status: "HEALTHY", missed_count: 0, backs: "wd-a", backs_stable_ms: null }],
      },
    ],
    [
      "incident null, a negative attempt, isolate, age 0, every optional field",
      view({
        for: "wd-a",
        mesh: "m-1",
        degraded: true,
        unfit: "state store cannot commit",
        peers: [peer({ status: "ISOLATED", missed_count: Number.MAX_SAFE_INTEGER })],
        in_flight: [step({ incident: null, step: "isolate", attempt: -3, age_ms: 0, finished: false })],
      }),
      {
        node: "wd-b",
        at: STARTED,
        nonce: "n1",
        for: "wd-a",
        mesh: "m-1",
        degraded: true,
        unfit: "state store cannot commit",
        peers: [{ name: "agent", status: "ISOLATED", missed_count: Number.MAX_SAFE_INTEGER }],
        in_flight: [
          {
            peer: "agent",
            incident: null,
            step: "isolate",
            attempt: -3,
            started_at: STARTED,
            age_ms: 0,
            finished: false,
          },
        ],
      },
    ],
    ["an empty in_flight", view({ in_flight: [] }), { ...view(), in_flight: [] }],
  ];
  for (const [what, doc, want] of accepted) {
    test(what, () => {
      const r = parseMeshView(doc);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.view, want);
      assert.deepEqual(
        Object.keys(r.view).sort(),
        Object.keys(want).sort(),
        "no key beyond the declared ones",
      );
    });
  }

  test("verifyView fills a backing's missing age with null and drops degraded: false", () => {
    const r = check(view({ degraded: false, peers: [peer({ backs: "wd-a", extra: 1 })] }));
    assert.ok(r.ok);
    assert.deepEqual(r.view, {
      node: "wd-b",
      at: STARTED,
      nonce: "n1",
      peers: [{ name: "agent", status: "HEALTHY", missed_count: 0, backs: "wd-a", backs_stable_ms: null }],
    });
  });

  test("an accepted view is a fresh object: the parsed document is not kept", () => {
    const doc = view({ peers: [peer({ zone: "eu" })] });
    const r = parseMeshView(doc);
    assert.ok(r.ok);
    assert.notEqual(r.view, doc);
    assert.notEqual(r.view.peers[0], (doc.peers as Json[])[0]);
    assert.equal("zone" in (doc.peers as Json[])[0]!, true, "the input is left as it was");
  });
});

describe("view format: rejected views, with the path of the first problem", () => {
  // [what, document, where, message pattern]
  const rejected: Array<[string, unknown, string, RegExp]> = [
    ["the document is an array", [], "", /expected object, got an array/],
    ["the document is null", null, "", /expected object, got null/],
    ["node missing", { at: STARTED, peers: [] }, "node", /expected string, got nothing/],
    ["node a number", view({ node: 7 }), "node", /expected string, got 7/],
    ["at missing", { node: "wd-b", peers: [] }, "at", /expected string, got nothing/],
    ["at null", view({ at: null }), "at", /expected string, got null/],
    ["nonce null (optional, not nullable)", view({ nonce: null }), "nonce", /expected string, got null/],
    ["nonce a number", view({ nonce: 1 }), "nonce", /expected string/],
    ["for null", view({ for: null }), "for", /expected string, got null/],
    ["for an object", view({ for: {} }), "for", /expected string, got an object/],
    ["mesh null", view({ mesh: null }), "mesh", /expected string, got null/],
    ["mesh an array", view({ mesh: ["m"] }), "mesh", /expected string, got an array/],
    ["peers missing", { node: "wd-b", at: STARTED }, "peers", /expected array, got nothing/],
    ["peers null", view({ peers: null }), "peers", /expected array, got null/],
    ["peers an object", view({ peers: { 0: peer() } }), "peers", /expected array, got an object/],
    [
      "a peer an array",
      view({ peers: [["agent", "HEALTHY", 0]] }),
      "peers[0]",
      /expected object, got an array/,
    ],
    ["a peer null", view({ peers: [peer(), null] }), "peers[1]", /expected object, got null/],
    ["a peer a string", view({ peers: ["agent"] }), "peers[0]", /expected object, got "agent"/],
    [
      "peer name missing",
      view({ peers: [{ status: "HEALTHY", missed_count: 0 }] }),
      "peers[0].name",
      /string/,
    ],
    ["peer name a number", view({ peers: [peer({ name: 1 })] }), "peers[0].name", /expected string, got 1/],
    [
      "peer status unknown",
      view({ peers: [peer(), peer({ status: "FINE" })] }),
      "peers[1].status",
      /expected one of UNKNOWN, HEALTHY, DEGRADED, OFFLINE, ISOLATED, got "FINE"/,
    ],
    ["peer status lower case", view({ peers: [peer({ status: "healthy" })] }), "peers[0].status", /one of/],
    ["peer status null", view({ peers: [peer({ status: null })] }), "peers[0].status", /got null/],
    [
      "missed_count negative",
      view({ peers: [peer({ missed_count: -1 })] }),
      "peers[0].missed_count",
      /from 0, got -1/,
    ],
    [
      "missed_count fractional",
      view({ peers: [peer({ missed_count: 1.5 })] }),
      "peers[0].missed_count",
      /integer/,
    ],
    [
      "missed_count unsafe",
      view({ peers: [peer({ missed_count: 2 ** 53 })] }),
      "peers[0].missed_count",
      /integer/,
    ],
    [
      "missed_count a string",
      view({ peers: [peer({ missed_count: "1" })] }),
      "peers[0].missed_count",
      /got "1"/,
    ],
    [
      "missed_count missing",
      view({ peers: [peer({ missed_count: undefined })] }),
      "peers[0].missed_count",
      /nothing/,
    ],
    ["backs null", view({ peers: [peer({ backs: null })] }), "peers[0].backs", /expected string, got null/],
    ["backs a number", view({ peers: [peer({ backs: 7 })] }), "peers[0].backs", /expected string, got 7/],
    [
      "backs_stable_ms negative",
      view({ peers: [peer({ backs: "wd-a", backs_stable_ms: -1 })] }),
      "peers[0].backs_stable_ms",
      /expected an integer from 0 or null, got -1/,
    ],
    [
      "backs_stable_ms a string",
      view({ peers: [peer({ backs_stable_ms: "5" })] }),
      "peers[0].backs_stable_ms",
      /or null/,
    ],
    ["in_flight null", view({ in_flight: null }), "in_flight", /expected array, got null/],
    ["in_flight an object", view({ in_flight: step() }), "in_flight", /expected array, got an object/],
    ["a step an array", view({ in_flight: [[]] }), "in_flight[0]", /expected object, got an array/],
    ["step peer missing", view({ in_flight: [step({ peer: undefined })] }), "in_flight[0].peer", /string/],
    [
      "step incident missing (nullable, not optional)",
      view({ in_flight: [step({ incident: undefined })] }),
      "in_flight[0].incident",
      /expected string or null, got nothing/,
    ],
    [
      "step incident a number",
      view({ in_flight: [step({ incident: 1 })] }),
      "in_flight[0].incident",
      /or null/,
    ],
    [
      "step unknown",
      view({ in_flight: [step(), step({ step: "explode" })] }),
      "in_flight[1].step",
      /expected one of restart, isolate, got "explode"/,
    ],
    ["attempt fractional", view({ in_flight: [step({ attempt: 0.5 })] }), "in_flight[0].attempt", /integer/],
    [
      "attempt unsafe",
      view({ in_flight: [step({ attempt: -(2 ** 60) })] }),
      "in_flight[0].attempt",
      /integer/,
    ],
    ["attempt null", view({ in_flight: [step({ attempt: null })] }), "in_flight[0].attempt", /got null/],
    [
      "started_at a number",
      view({ in_flight: [step({ started_at: 0 })] }),
      "in_flight[0].started_at",
      /string/,
    ],
    ["age_ms null", view({ in_flight: [step({ age_ms: null })] }), "in_flight[0].age_ms", /from 0, got null/],
    ["age_ms negative", view({ in_flight: [step({ age_ms: -5 })] }), "in_flight[0].age_ms", /from 0/],
    [
      "finished null",
      view({ in_flight: [step({ finished: null })] }),
      "in_flight[0].finished",
      /boolean, got null/,
    ],
    [
      "finished a string",
      view({ in_flight: [step({ finished: "yes" })] }),
      "in_flight[0].finished",
      /boolean/,
    ],
    ["degraded null", view({ degraded: null }), "degraded", /expected boolean, got null/],
    ["degraded a string", view({ degraded: "true" }), "degraded", /expected boolean, got "true"/],
    ["unfit a boolean", view({ unfit: true }), "unfit", /expected string or null, got true/],
    // The first problem in declared order: a list's entries before the fields after it.
    [
      "a bad peer before a bad degraded",
      view({ peers: [peer({ name: 1 })], degraded: 1 }),
      "peers[0].name",
      /string/,
    ],
    [
      "a bad step before a bad degraded",
      view({ in_flight: [{}], degraded: 1 }),
      "in_flight[0].peer",
      /string/,
    ],
    ["at before peers", view({ at: 1, peers: 1 }), "at", /string/],
    ["name before status", view({ peers: [{ status: 1, name: 1 }] }), "peers[0].name", /string/],
  ];
  for (const [what, doc, where, message] of rejected) {
    test(what, () => {
      const r = parseMeshView(doc);
      assert.equal(r.ok, false, what);
      assert.equal((r as { where: string }).where, where);
      assert.match((r as { message: string }).message, message);
      // Through verifyView (which itself checks the document is an object of the expected node).
      const named = doc;
      if (
        typeof named !== "object" ||
        named === null ||
        Array.isArray(named) ||
        (named as Json).node !== "wd-b"
      )
        return;
      const v = check(doc);
      assert.equal(v.ok, false);
      const error = (v as { error: string }).error;
      assert.ok(error.startsWith(`view ${where} is not of the view format (`), error);
      assert.match(error, message);
    });
  }

  test("a long string is cut in the message", () => {
    const r = parseMeshView(view({ peers: [peer({ status: "X".repeat(1000) })] }));
    assert.ok(!r.ok);
    assert.ok(r.message.length < 120, r.message);
  });
});

// The zod schema parseMeshView replaced, as it was: the reference for the comparison below.
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const reference = z.object({
  node: z.string(),
  at: z.string(),
  nonce: z.string().optional(),
  for: z.string().optional(),
  mesh: z.string().optional(),
  peers: z.array(
    z.object({
      name: z.string(),
      status: z.enum(["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"]),
      missed_count: count,
      backs: z.string().optional(),
      backs_stable_ms: count.nullable().optional(),
    }),
  ),
  in_flight: z
    .array(
      z.object({
        peer: z.string(),
        incident: z.string().nullable(),
        step: z.enum(["restart", "isolate"]),
        attempt: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
        started_at: z.string(),
        age_ms: count.optional(),
        finished: z.boolean().optional(),
      }),
    )
    .optional(),
  degraded: z.boolean().optional(),
  unfit: z.string().nullable().optional(),
});

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out === "" ? "" : "."}${String(p)}`;
  return out;
}

describe("view format: the same as the zod schema it replaced", () => {
  /** A field's value: mostly a good one, else any JSON value (absent when undefined). */
  const field = (good: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
    fc.oneof(
      { weight: 6, arbitrary: good },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constant(undefined),
          fc.constant(null),
          fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 53), -0, 1e300),
          fc.constantFrom("", "HEALTHY", "restart", "x"),
          fc.boolean(),
          fc.constant([]),
          fc.constant({}),
        ),
      },
    );
  const str = fc.string({ maxLength: 4 });
  const cnt = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
  const extra = fc.dictionary(fc.constantFrom("zone", "later", "__proto__", "constructor"), fc.jsonValue(), {
    maxKeys: 2,
  });
  /** An object of `fields` (a field whose value is undefined is left out) with unknown fields added. */
  const obj = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
    fc.tuple(fc.record(fields), extra).map(([f, x]) => {
      const out: Json = JSON.parse(JSON.stringify(x));
      for (const [k, v] of Object.entries(f)) if (v !== undefined) out[k] = v;
      return out;
    });
  const peerArb = field(
    obj({
      name: field(str),
      status: field(fc.constantFrom("UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED")),
      missed_count: field(cnt),
      backs: field(fc.option(str, { nil: undefined })),
      backs_stable_ms: field(fc.option(fc.option(cnt, { nil: null }), { nil: undefined })),
    }),
  );
  const stepArb = field(
    obj({
      peer: field(str),
      incident: field(fc.option(str, { nil: null })),
      step: field(fc.constantFrom("restart", "isolate")),
      attempt: field(
        fc.oneof(fc.integer(), fc.constantFrom(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
      ),
      started_at: field(str),
      age_ms: field(fc.option(cnt, { nil: undefined })),
      finished: field(fc.option(fc.boolean(), { nil: undefined })),
    }),
  );
  const viewArb = field(
    obj({
      node: field(str),
      at: field(str),
      nonce: field(fc.option(str, { nil: undefined })),
      for: field(fc.option(str, { nil: undefined })),
      mesh: field(fc.option(str, { nil: undefined })),
      peers: field(fc.array(peerArb, { maxLength: 3 })),
      in_flight: field(fc.option(fc.array(stepArb, { maxLength: 3 }), { nil: undefined })),
      degraded: field(fc.option(fc.boolean(), { nil: undefined })),
    }),
  );

  test("same verdict, same view, same first path", () => {
    let accepted = 0;
    fc.assert(
      fc.property(viewArb, (generated) => {
        // Through JSON, as a member's answer arrives.
        const doc: unknown = generated === undefined ? undefined : JSON.parse(JSON.stringify(generated));
        const want = reference.safeParse(doc);
        const got = parseMeshView(doc);
        assert.equal(got.ok, want.success, JSON.stringify(doc));
        if (got.ok && want.success) {
          accepted++;
          assert.deepEqual(got.view, want.data);
        } else if (!got.ok && !want.success) {
          assert.equal(got.where, pathText(want.error.issues[0]?.path ?? []), JSON.stringify(doc));
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 100, `only ${accepted} generated views were accepted`);
  });
});
