// View exchange: the proof format, the /v1/mesh/view route on the real API server, and
// the poller against real loopback servers (honest, tampering, impostor, garbage, huge, slow).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  buildView,
  MAX_VIEW_BYTES,
  viewProof,
  ViewPoller,
  type ViewPollerOptions,
} from "../../src/mesh/views.js";
import { verifyView } from "../../src/mesh/view-schema.js";
import { peer } from "../helpers/fake-backend.js";
import { startApi, type Harness } from "../api/harness.js";
import { closeServer as close, listen as serve } from "../helpers/listen.js";
import { until } from "../helpers/wait.js";
import { recordingLogger } from "../helpers/record-logger.js";
import { runUnderFdLimit } from "../helpers/fd-limit.js";

const KEY = "mesh-key-for-tests";

/** A poller of the one member `name` at `url`, with the shared key. */
function pollerOf(
  name: string,
  url: string,
  times: Pick<ViewPollerOptions, "intervalMs" | "timeoutMs" | "logger">,
): ViewPoller {
  return new ViewPoller({ members: [{ name, url }], key: KEY, ...times });
}

/** A member answering like a wdmesh node would, with hooks to misbehave. */
function member(
  node: string,
  key: string,
  tweak: (body: string, nonce: string) => { body: string; proof?: string } = (b) => ({ body: b }),
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/v1/mesh/view") {
      res.writeHead(404).end();
      return;
    }
    const nonce = u.searchParams.get("nonce") ?? "";
    const honest = buildView(node, [peer("agent", "DEGRADED", { missed_count: 2 })], Date.now(), nonce);
    const out = tweak(honest, nonce);
    res.writeHead(200, {
      "content-type": "application/json",
      "x-wdmesh-proof": out.proof ?? viewProof(key, out.body),
    });
    res.end(out.body);
  };
}

/** A parsed view, loosely typed so a test can break it. */
type ViewJson = { peers: [Record<string, unknown>]; in_flight?: unknown };

describe("view proof", () => {
  const body = Buffer.from(buildView("wd-b", [peer("agent", "OFFLINE", { missed_count: 0 })], 0, "n1"));
  const proof = createHmac("sha256", KEY).update(body).digest("hex");

  test("buildView: node, at, nonce, peers {name, status, missed_count} only, and that it is fit", () => {
    assert.deepEqual(JSON.parse(body.toString()), {
      node: "wd-b",
      at: "1970-01-01T00:00:00.000Z",
      nonce: "n1",
      peers: [{ name: "agent", status: "OFFLINE", missed_count: 0 }],
      unfit: null,
    });
    assert.equal(viewProof(KEY, body.toString()), proof);
  });

  test("buildView with backings and steps in flight; they verify and parse back", () => {
    const started = "2026-01-01T00:00:00.000Z";
    const text = buildView(
      "wd-b",
      [peer("agent", "DEGRADED", { missed_count: 2 }), peer("other", "HEALTHY")],
      0,
      "n2",
      {
        backing: (p) => (p === "agent" ? { backs: "wd-a", stableMs: 1500 } : undefined),
        inFlight: [{ peer: "agent", incident: "i-1", step: "restart", attempt: 1, started_at: started }],
      },
    );
    const doc = JSON.parse(text);
    assert.deepEqual(doc.peers, [
      { name: "agent", status: "DEGRADED", missed_count: 2, backs: "wd-a", backs_stable_ms: 1500 },
      { name: "other", status: "HEALTHY", missed_count: 0 },
    ]);
    const r = verifyView(KEY, Buffer.from(text), viewProof(KEY, text), { node: "wd-b", nonce: "n2" });
    assert.ok(r.ok);
    assert.deepEqual(r.view.in_flight, [
      { peer: "agent", incident: "i-1", step: "restart", attempt: 1, started_at: started },
    ]);
    assert.equal(r.view.peers[0]?.backs, "wd-a");
    for (const [what, mutate] of [
      ["backs", (d: ViewJson) => (d.peers[0].backs = 7)],
      ["backs_stable_ms", (d: ViewJson) => (d.peers[0].backs_stable_ms = -1)],
      ["in_flight", (d: ViewJson) => (d.in_flight = [{ peer: "agent", step: "explode" }])],
    ] as Array<[string, (d: ViewJson) => void]>) {
      const d = JSON.parse(text);
      mutate(d);
      const t2 = JSON.stringify(d);
      const bad = verifyView(KEY, Buffer.from(t2), viewProof(KEY, t2), { node: "wd-b", nonce: "n2" });
      assert.ok(!bad.ok && bad.error.includes(what === "in_flight" ? "in_flight" : "backs"), what);
    }
  });

  test("a good view verifies", () => {
    const r = verifyView(KEY, body, proof, { node: "wd-b", nonce: "n1" });
    assert.ok(r.ok);
    assert.deepEqual(r.view.peers, [{ name: "agent", status: "OFFLINE", missed_count: 0 }]);
  });

  const bad: Array<[string, Buffer, unknown, { node: string; nonce: string }, RegExp]> = [
    ["no proof", body, undefined, { node: "wd-b", nonce: "n1" }, /x-wdmesh-proof/],
    [
      "proof under another key",
      body,
      viewProof("other", body.toString()),
      { node: "wd-b", nonce: "n1" },
      /does not match the mesh key/,
    ],
    [
      "tampered body",
      Buffer.from(body.toString().replace("OFFLINE", "HEALTHY")),
      proof,
      { node: "wd-b", nonce: "n1" },
      /does not match/,
    ],
    ["wrong node", body, proof, { node: "wd-c", nonce: "n1" }, /node "wd-b", expected "wd-c"/],
    ["replayed (other nonce)", body, proof, { node: "wd-b", nonce: "n2" }, /nonce/],
    [
      "garbage",
      Buffer.from("not json"),
      viewProof(KEY, "not json"),
      { node: "wd-b", nonce: "n1" },
      /not JSON/,
    ],
    [
      "bad peer entry",
      Buffer.from(
        JSON.stringify({
          node: "wd-b",
          at: "x",
          nonce: "n1",
          peers: [{ name: "a", status: "FINE", missed_count: 0 }],
        }),
      ),
      null,
      { node: "wd-b", nonce: "n1" },
      /peers\[0\]/,
    ],
  ];
  for (const [what, b, p, expect, re] of bad) {
    test(`rejected: ${what}`, () => {
      const r = verifyView(KEY, b, p === null ? viewProof(KEY, b.toString()) : p, expect);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, re);
      assert.ok(!(r as { error: string }).error.includes(KEY), "the key never appears in an error");
    });
  }
});

describe("GET /v1/mesh/view on the API server", () => {
  async function api(withKey: boolean): Promise<Harness> {
    const h = await startApi({
      apiToken: "ctl",
      readToken: "rd",
      backendOptions: { node: "wd-a", peers: [peer("agent", "DEGRADED", { missed_count: 1 })] },
    });
    Object.assign(h.backend, {
      meshView: (nonce?: string) => {
        if (!withKey) return undefined;
        const body = buildView("wd-a", [...h.backend.peers.values()], Date.now(), nonce);
        return { body, proof: viewProof(KEY, body) };
      },
    });
    return h;
  }

  test("served without a token, with X-Wdmesh-Proof = HMAC-SHA256(key, body), nonce echoed", async () => {
    const h = await api(true);
    try {
      const res = await fetch(`${h.url}/v1/mesh/view?nonce=abc123`);
      assert.equal(res.status, 200);
      const text = await res.text();
      const proof = res.headers.get("x-wdmesh-proof");
      assert.equal(proof, createHmac("sha256", KEY).update(text).digest("hex"));
      const doc = JSON.parse(text);
      assert.equal(doc.node, "wd-a");
      assert.equal(doc.nonce, "abc123");
      assert.deepEqual(doc.peers, [{ name: "agent", status: "DEGRADED", missed_count: 1 }]);
      // the read-protected route next to it still wants its token
      assert.equal((await fetch(`${h.url}/v1/mesh`)).status, 401);
      assert.equal((await fetch(`${h.url}/v1/mesh/view?nonce=${"x".repeat(129)}`)).status, 400);
      assert.equal((await fetch(`${h.url}/v1/mesh/view`, { method: "POST" })).status, 405);
    } finally {
      await h.close();
    }
  });

  test("the real poller accepts the API's view", async () => {
    const h = await api(true);
    const poller = pollerOf("wd-a", h.url, { intervalMs: 1_000, timeoutMs: 500 });
    try {
      await poller.pollOnce();
      const v = poller.latest("wd-a");
      assert.deepEqual(v?.peers.get("agent"), { status: "DEGRADED", missed_count: 1 });
    } finally {
      await poller.stop();
      await h.close();
    }
  });

  test("404 when the node has no mesh key", async () => {
    const h = await api(false);
    try {
      const res = await fetch(`${h.url}/v1/mesh/view?nonce=1`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("x-wdmesh-proof"), null);
      const doc = (await res.json()) as { error: { message: string } };
      assert.match(doc.error.message, /no mesh\.key/);
    } finally {
      await h.close();
    }
  });
});

describe("ViewPoller", () => {
  test("keeps the latest verified view per member; ignores and logs bad ones (once per reason)", async () => {
    const good = await serve(member("wd-b", KEY));
    const wrongKey = await serve(member("wd-c", "not-the-key"));
    const impostor = await serve(member("wd-x", KEY)); // answers as another node
    const garbage = await serve(member("wd-e", KEY, () => ({ body: "<html>" })));
    const huge = await serve(
      member("wd-f", KEY, (_b, nonce) => ({
        body: buildView(
          "wd-f",
          Array.from({ length: 2000 }, (_, i) => peer(`p${i}`, "HEALTHY")),
          0,
          nonce,
        ),
      })),
    );
    const replay = await serve(
      member("wd-g", KEY, (b) => ({ body: b.replace(/"nonce":"[0-9a-f]+"/, '"nonce":"old"') })),
    );
    const { lines, log } = recordingLogger();
    const poller = new ViewPoller({
      members: [
        { name: "wd-b", url: good.url },
        { name: "wd-c", url: wrongKey.url },
        { name: "wd-d", url: impostor.url },
        { name: "wd-e", url: garbage.url },
        { name: "wd-f", url: huge.url },
        { name: "wd-g", url: replay.url },
        { name: "wd-h", url: "http://127.0.0.1:1" },
      ],
      key: KEY,
      intervalMs: 1_000,
      timeoutMs: 1_000,
      logger: log,
    });
    try {
      await poller.pollOnce();
      await poller.pollOnce();
      assert.deepEqual(poller.latest("wd-b")?.peers.get("agent"), { status: "DEGRADED", missed_count: 2 });
      for (const m of ["wd-c", "wd-d", "wd-e", "wd-f", "wd-g", "wd-h"])
        assert.equal(poller.latest(m), undefined, m);
      const warned = (m: string) =>
        lines.filter((l) => l.level === "warn" && l.obj.member === m).map((l) => String(l.obj.error));
      assert.match(warned("wd-c").join(), /does not match the mesh key/);
      assert.match(warned("wd-d").join(), /node "wd-x", expected "wd-d"/);
      assert.match(warned("wd-e").join(), /not JSON/);
      assert.match(warned("wd-f").join(), new RegExp(`larger than ${MAX_VIEW_BYTES} bytes`));
      assert.match(warned("wd-g").join(), /nonce/);
      assert.match(warned("wd-h").join(), /connection refused/);
      for (const m of ["wd-c", "wd-d", "wd-e", "wd-f", "wd-g", "wd-h"])
        assert.equal(warned(m).length, 1, `${m} warned once over two rounds`);
      assert.ok(!JSON.stringify(lines).includes(KEY));
    } finally {
      await poller.stop();
      await Promise.all([good, wrongKey, impostor, garbage, huge, replay].map((s) => close(s.server)));
    }
  });

  test("a request this node could not send (its own EMFILE) is its own trouble, not the member's", async (t) => {
    const member = await serve((_req, res) => res.writeHead(503).end("down"));
    try {
      const port = new URL(member.url).port;
      const got = await runUnderFdLimit<{ held: number; exhausted: string | null; freed: string | null }>(
        t,
        "test/fixtures/emfile-view-poll.ts",
        [port],
      );
      if (got === undefined) return;
      assert.ok(got.held > 100, `the fixture exhausted its descriptors (${got.held} held)`);
      assert.match(got.exhausted ?? "", /EMFILE/, "the failed request is this node's own trouble");
      assert.equal(got.freed, null, "a member that answered (503) is no longer this node's trouble");
    } finally {
      await close(member.server);
    }
  });

  test("a member that does not answer in time is a timeout, not a hang", async () => {
    const slow = await serve(() => {
      /* never answers */
    });
    const { lines, log } = recordingLogger();
    const poller = pollerOf("wd-s", slow.url, { intervalMs: 1_000, timeoutMs: 150, logger: log });
    try {
      const t0 = Date.now();
      await poller.pollOnce();
      assert.ok(Date.now() - t0 < 5_000);
      assert.equal(poller.latest("wd-s"), undefined);
      assert.match(String(lines.find((l) => l.level === "warn")?.obj.error), /timeout after 150 ms/);
    } finally {
      await poller.stop();
      await close(slow.server);
    }
  });

  test("start/stop are idempotent, polling repeats every interval, stop leaves no timer or socket", async () => {
    let hits = 0;
    const m = await serve((req, res) => {
      hits++;
      member("wd-b", KEY)(req, res);
    });
    const poller = pollerOf("wd-b", m.url, { intervalMs: 50, timeoutMs: 40 });
    try {
      poller.start();
      poller.start();
      await until("four polls and a view", () => hits >= 4 && poller.latest("wd-b") !== undefined);
      const first = poller.latest("wd-b")?.receivedAt ?? 0;
      await poller.stop();
      await poller.stop();
      assert.equal(poller.isRunning, false);
      const after = hits;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(hits, after, "no poll after stop()");
      assert.ok(first > 0);
      // restartable
      poller.start();
      await until("a poll after start() again", () => hits > after);
    } finally {
      await poller.stop();
      await close(m.server);
    }
    // The test process exits by itself only if nothing is left armed (checked by the runner).
  });
});
