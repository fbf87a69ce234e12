import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { heartbeatProof } from "../../src/probe/heartbeat-proof.js";
import { verifyChain } from "../../src/store/journal.js";
import { peer } from "../helpers/fake-backend.js";
import { apiForSuite, bearer, getJson, startApi } from "./harness.js";

const TOKEN = "s3cret-control-token";

void describe("API routes (real listener, fake backend)", () => {
  const h = apiForSuite({
    apiToken: TOKEN,
    backendOptions: {
      meshKey: "mesh-key-1",
      peers: [peer("sidecar", "HEALTHY"), peer("shield", "ISOLATED"), peer("x<y>", "DEGRADED")],
    },
  });

  void test("GET /health answers without auth, with a verifiable proof when a nonce is given", async () => {
    const plain = await getJson(`${h.url}/health`);
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body, { status: "ok", node: "immune" });
    const r = await getJson(`${h.url}/health?nonce=abc123`);
    assert.equal(r.body.proof, heartbeatProof("mesh-key-1", "immune", "abc123"));
    assert.notEqual(r.body.proof, heartbeatProof("other-key", "immune", "abc123"));
  });

  void test("GET /health rejects an over-long or non-printable nonce", async () => {
    assert.equal((await getJson(`${h.url}/health?nonce=${"a".repeat(129)}`)).status, 400);
    assert.equal((await getJson(`${h.url}/health?nonce=${"a".repeat(128)}`)).status, 200);
    assert.equal((await getJson(`${h.url}/health?nonce=a%20b`)).status, 400);
  });

  void test("GET /health without a mesh key has no proof", async () => {
    const h2 = await startApi();
    try {
      const r = await getJson(`${h2.url}/health?nonce=n1`);
      assert.deepEqual(r.body, { status: "ok", node: "immune" });
    } finally {
      await h2.close();
    }
  });

  void test("GET /v1/mesh is seed-compatible plus node and members", async () => {
    const r = await getJson(`${h.url}/v1/mesh`);
    assert.equal(r.status, 200);
    assert.equal(r.body.self, "immune");
    assert.equal(r.body.node, "immune");
    assert.deepEqual(r.body.members, []);
    assert.deepEqual(
      r.body.peers.map((p: { name: string }) => p.name),
      ["shield", "sidecar", "x<y>"],
    );
    assert.equal(r.body.stats.peer_count, 3);
  });

  void test("GET /v1/peers/:name returns one peer, 404 for an unknown one", async () => {
    const r = await getJson(`${h.url}/v1/peers/shield`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "ISOLATED");
    const enc = await getJson(`${h.url}/v1/peers/${encodeURIComponent("x<y>")}`);
    assert.equal(enc.body.name, "x<y>");
    const nf = await getJson(`${h.url}/v1/peers/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, "WDM_UNKNOWN_PEER");
    assert.match(nf.body.error.message, /nope/);
    assert.equal((await getJson(`${h.url}/v1/peers/%E0%A4%A`)).status, 400);
  });

  void test("GET /v1/events pages the journal and validates after/limit", async () => {
    for (let i = 0; i < 5; i++)
      h.backend.append({ peer_name: "sidecar", action: "alert", severity: "MEDIUM" });
    const all = await getJson(`${h.url}/v1/events?after=0&limit=1000`);
    assert.equal(all.status, 200);
    assert.ok(all.body.length >= 5);
    assert.deepEqual(verifyChain(all.body), { ok: true, checked: all.body.length });
    const page = await getJson(`${h.url}/v1/events?after=2&limit=2`);
    assert.deepEqual(
      page.body.map((e: { seq: number }) => e.seq),
      [3, 4],
    );
    for (const bad of ["limit=0", "limit=1001", "limit=abc", "after=-1", "after=1.5", "limit=1e3"]) {
      const r = await getJson(`${h.url}/v1/events?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, "WDM_BAD_REQUEST");
    }
  });

  void test("POST release/restart/check need the token and answer 202 with the action or peer", async () => {
    const rel = await getJson(`${h.url}/v1/peers/shield/release`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(rel.status, 202);
    assert.equal(rel.body.action, "release");
    assert.equal(rel.body.peer_name, "shield");
    assert.equal(h.backend.peers.get("shield")?.status, "UNKNOWN");
    assert.match(h.backend.calls.at(-1)?.by ?? "", /^api 127\.0\.0\.1/);

    const again = await getJson(`${h.url}/v1/peers/shield/release`, {
      method: "POST",
      headers: bearer(TOKEN),
    });
    assert.equal(again.status, 409, "releasing a peer that is not isolated is a conflict");
    assert.equal(again.body.error.code, "WDM_INVALID_STATE");

    const rs = await getJson(`${h.url}/v1/peers/sidecar/restart`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(rs.status, 202);
    assert.equal(rs.body.action, "restart");
    assert.deepEqual(rs.body.result, { ok: true });

    const ck = await getJson(`${h.url}/v1/peers/sidecar/check`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(ck.status, 202);
    assert.equal(ck.body.name, "sidecar");

    const nf = await getJson(`${h.url}/v1/peers/ghost/restart`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(nf.status, 404);
  });

  void test("POST silence validates its JSON body", async () => {
    const json = { ...bearer(TOKEN), "content-type": "application/json" };
    const ok = await getJson(`${h.url}/v1/peers/sidecar/silence`, {
      method: "POST",
      headers: json,
      body: '{"for":"1h"}',
    });
    assert.equal(ok.status, 202);
    assert.equal(h.backend.calls.at(-1)?.ms, 3_600_000);
    const until = Date.parse(ok.body.silenced_until);
    assert.ok(Math.abs(until - (Date.now() + 3_600_000)) < 60_000);

    const cases: Array<[string, Record<string, string>, string, RegExp]> = [
      ["bad JSON", json, '{"for":', /not valid JSON/],
      ["bad duration", json, '{"for":"soon"}', /not a valid duration/],
      ["missing for", json, "{}", /"for"/],
      ["not an object", json, '["1h"]', /JSON object/],
      ["too long", json, '{"for":"400d"}', /maximum/],
      [
        "wrong content type",
        { ...bearer(TOKEN), "content-type": "text/plain" },
        '{"for":"1h"}',
        /application\/json/,
      ],
    ];
    for (const [name, headers, body, reason] of cases) {
      const r = await getJson(`${h.url}/v1/peers/sidecar/silence`, { method: "POST", headers, body });
      assert.equal(r.status, 400, name);
      assert.match(r.body.error.message, reason, name);
    }
    const nf = await getJson(`${h.url}/v1/peers/ghost/silence`, {
      method: "POST",
      headers: json,
      body: '{"for":"1h"}',
    });
    assert.equal(nf.status, 404);
  });

  void test("oversize bodies are refused with 413", async () => {
    const big = JSON.stringify({ for: "1h", pad: "x".repeat(20_000) });
    const r = await getJson(`${h.url}/v1/peers/sidecar/silence`, {
      method: "POST",
      headers: { ...bearer(TOKEN), "content-type": "application/json" },
      body: big,
    });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, "WDM_PAYLOAD_TOO_LARGE");
    const r2 = await getJson(`${h.url}/v1/peers/sidecar/restart`, {
      method: "POST",
      headers: bearer(TOKEN),
      body: big,
    });
    assert.equal(r2.status, 413);
  });

  void test("GET /v1/deliveries filters by state and rejects unknown states", async () => {
    const row = (seq: number, state: "pending" | "dead") => ({
      seq,
      sink: "architect",
      action: h.backend.journal[0]!,
      peer: peer("sidecar", "DEGRADED"),
      state,
      attempts: 1,
      created_at: 0,
      next_attempt_at: 0,
      delivered_at: null,
      last_error: "status 500",
    });
    h.backend.outbox.push(row(1, "pending"), row(2, "dead"));
    const p = await getJson(`${h.url}/v1/deliveries?state=pending`);
    assert.deepEqual(
      p.body.map((r: { seq: number }) => r.seq),
      [1],
    );
    const d = await getJson(`${h.url}/v1/deliveries?state=dead`);
    assert.deepEqual(
      d.body.map((r: { seq: number }) => r.seq),
      [2],
    );
    assert.equal((await getJson(`${h.url}/v1/deliveries?state=lost`)).status, 400);
  });

  void test("POST /v1/alerts/:sink/test sends through the backend, 404 for an unknown sink", async () => {
    const r = await getJson(`${h.url}/v1/alerts/architect/test`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    const nf = await getJson(`${h.url}/v1/alerts/nope/test`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, "WDM_UNKNOWN_SINK");
  });

  void test("GET /metrics serves the backend's exposition text", async () => {
    const r = await fetch(`${h.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await r.text(), h.backend.metricsBody);
  });

  void test("unknown routes are 404, wrong methods 405 with Allow", async () => {
    const nf = await getJson(`${h.url}/v2/nothing`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, "WDM_NOT_FOUND");
    const m = await getJson(`${h.url}/v1/mesh`, { method: "POST", headers: bearer(TOKEN) });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get("allow"), "GET, HEAD");
    const m2 = await getJson(`${h.url}/v1/peers/sidecar/release`);
    assert.equal(m2.status, 405);
    assert.equal(m2.headers.get("allow"), "POST");
    const del = await getJson(`${h.url}/v1/peers/sidecar`, { method: "DELETE" });
    assert.equal(del.status, 405);
  });
});
