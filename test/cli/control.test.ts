import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { peer } from "../helpers/fake-backend.js";
import { apiForSuite, startApi } from "../api/harness.js";
import { cli } from "./harness.js";

void describe("wdmesh release / restart / check / silence / alerts", () => {
  const h = apiForSuite({
    apiToken: "ctl",
    backendOptions: {
      peers: [peer("sidecar", "HEALTHY"), peer("shield", "ISOLATED"), peer("slow", "DEGRADED")],
    },
  });

  void test("release without a token is refused (exit 2, hint) and changes nothing", async () => {
    const r = await cli(["release", "shield", "--url", h.url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /requires a token/);
    assert.match(r.stderr, /pass --token or set WDMESH_API_TOKEN/);
    const wrong = await cli(["release", "shield", "--url", h.url, "--token", "nope"]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /token rejected: pass --token or set WDMESH_API_TOKEN/);
    assert.equal(h.backend.peers.get("shield")?.status, "ISOLATED");
  });

  void test("release with the token (from WDMESH_API_TOKEN) releases the peer", async () => {
    const r = await cli(["release", "shield", "--url", h.url], { WDMESH_API_TOKEN: "ctl" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^release shield \[INFO\]: released by api 127\.0\.0\.1/);
    assert.equal(h.backend.peers.get("shield")?.status, "UNKNOWN");
    const again = await cli(["release", "shield", "--url", h.url, "--token", "ctl"]);
    assert.equal(again.code, 1, "a peer that is not isolated cannot be released");
    assert.match(again.stderr, /not ISOLATED/);
  });

  void test("restart, check, and an unknown peer", async () => {
    const rs = await cli(["restart", "sidecar", "--url", h.url, "--token", "ctl", "--json"]);
    assert.equal(rs.code, 0, rs.stderr);
    assert.equal(JSON.parse(rs.stdout).action, "restart");
    const ck = await cli(["check", "slow", "--url", h.url, "--token", "ctl"]);
    assert.equal(ck.code, 3, "check of an unhealthy peer exits 3");
    assert.match(ck.stdout, /^slow: DEGRADED \(connection refused\)/);
    const nf = await cli(["restart", "ghost", "--url", h.url, "--token", "ctl"]);
    assert.equal(nf.code, 2);
    assert.match(nf.stderr, /ghost/);
    assert.match(nf.stderr, /HTTP 404/);
  });

  void test("silence --for sends the duration; a bad duration is reported", async () => {
    const ok = await cli(["silence", "sidecar", "--for", "2h", "--url", h.url, "--token", "ctl"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^sidecar silenced until \d{4}-/);
    assert.equal(h.backend.calls.at(-1)?.ms, 7_200_000);
    const bad = await cli(["silence", "sidecar", "--for", "soon", "--url", h.url, "--token", "ctl"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a valid duration/);
    const missing = await cli(["silence", "sidecar", "--url", h.url, "--token", "ctl"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --for/);
  });

  void test("control disabled on the node: exit 2 naming the setting", async () => {
    const h2 = await startApi();
    try {
      const r = await cli(["restart", "sidecar", "--url", h2.url, "--token", "x"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /control endpoints are disabled: set node\.api_token/);
    } finally {
      await h2.close();
    }
  });

  void test("alerts test / pending / dead", async () => {
    const t = await cli(["alerts", "test", "architect", "--url", h.url, "--token", "ctl"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /test alert delivered to architect/);
    const nf = await cli(["alerts", "test", "nope", "--url", h.url, "--token", "ctl"]);
    assert.equal(nf.code, 2);
    assert.match(nf.stderr, /no alert sink named "nope"/);
    const entry = h.backend.append({ peer_name: "sidecar", action: "alert", severity: "MEDIUM" });
    h.backend.outbox.push({
      seq: 7,
      sink: "architect",
      action: entry,
      peer: peer("sidecar", "DEGRADED"),
      state: "dead",
      attempts: 4,
      created_at: Date.now() - 120_000,
      next_attempt_at: Date.now(),
      delivered_at: null,
      last_error: "status 410 from receiver",
    });
    const dead = await cli(["alerts", "dead", "--url", h.url]);
    assert.equal(dead.code, 0, dead.stderr);
    assert.match(
      dead.stdout,
      /^7\s+architect\s+alert MEDIUM\s+sidecar\s+4\s+2m ago\s+status 410 from receiver$/m,
    );
    const pending = await cli(["alerts", "pending", "--url", h.url]);
    assert.equal(pending.code, 0);
    assert.equal(pending.stdout, "no pending deliveries\n");
    const bad = await cli(["alerts", "lost", "--url", h.url]);
    assert.equal(bad.code, 2);
  });
});
