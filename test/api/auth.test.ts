import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TokenSet } from "../../src/http/auth.js";
import { apiForSuite, bearer, getJson } from "./harness.js";

void test("TokenSet accepts exactly the configured tokens", () => {
  const s = new TokenSet(["alpha", undefined, ""]);
  assert.equal(s.empty, false);
  assert.equal(s.accepts("alpha"), true);
  assert.equal(s.accepts("alph"), false);
  assert.equal(s.accepts("alphaa"), false);
  assert.equal(s.accepts(""), false);
  assert.equal(new TokenSet([undefined, ""]).empty, true);
  assert.equal(new TokenSet([]).accepts("x"), false);
});

void describe("API auth: control token only", () => {
  const h = apiForSuite({ apiToken: "ctl-token" });

  void test("read routes are open when no read token is configured", async () => {
    assert.equal((await getJson(`${h.url}/v1/mesh`)).status, 200);
    assert.equal((await getJson(`${h.url}/metrics`)).status, 200);
  });

  void test("control routes: 401 without or with a wrong token, WWW-Authenticate set", async () => {
    const none = await getJson(`${h.url}/v1/peers/sidecar/restart`, { method: "POST" });
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal(none.body.error.code, "WDM_UNAUTHORIZED");
    assert.match(none.body.error.message, /missing bearer token/);

    const wrong = await getJson(`${h.url}/v1/peers/sidecar/restart`, {
      method: "POST",
      headers: bearer("ctl-tokeN"),
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /invalid_token/);
    assert.ok(!JSON.stringify(wrong.body).includes("ctl-token"), "the error never echoes a token");

    const basic = await getJson(`${h.url}/v1/peers/sidecar/restart`, {
      method: "POST",
      headers: { authorization: "Basic Y3RsLXRva2Vu" },
    });
    assert.equal(basic.status, 401);
    assert.equal(h.backend.calls.length, 0, "nothing ran without a valid token");

    const ok = await getJson(`${h.url}/v1/peers/sidecar/restart`, {
      method: "POST",
      headers: { authorization: "bearer ctl-token" },
    });
    assert.equal(ok.status, 202);
    assert.equal(h.backend.calls.length, 1);
  });

  void test("the token never appears in logs", async () => {
    await getJson(`${h.url}/v1/peers/sidecar/restart`, { method: "POST", headers: bearer("ctl-token") });
    await getJson(`${h.url}/v1/peers/sidecar/restart`, { method: "POST", headers: bearer("wrong-token") });
    const text = JSON.stringify(h.logs);
    assert.ok(h.logs.length > 0);
    assert.ok(!text.includes("ctl-token") && !text.includes("wrong-token"));
  });
});

void describe("API auth: read token", () => {
  const h = apiForSuite({ apiToken: "ctl-token", readToken: "read-token" });

  void test("read routes require the read (or control) token; /health stays open", async () => {
    // GET / (the dashboard's static page) stays open: see test/api/dashboard-assets.test.ts.
    for (const path of ["/v1/mesh", "/v1/peers/sidecar", "/v1/events", "/v1/deliveries", "/metrics"]) {
      assert.equal((await getJson(`${h.url}${path}`)).status, 401, path);
      assert.equal((await getJson(`${h.url}${path}`, { headers: bearer("nope") })).status, 401, path);
      assert.equal((await getJson(`${h.url}${path}`, { headers: bearer("read-token") })).status, 200, path);
      assert.equal((await getJson(`${h.url}${path}`, { headers: bearer("ctl-token") })).status, 200, path);
    }
    const sse = await fetch(`${h.url}/v1/events/stream`);
    assert.equal(sse.status, 401);
    await sse.body?.cancel();
    assert.equal((await getJson(`${h.url}/health`)).status, 200);
  });

  void test("the read token cannot control", async () => {
    const r = await getJson(`${h.url}/v1/peers/sidecar/restart`, {
      method: "POST",
      headers: bearer("read-token"),
    });
    assert.equal(r.status, 401);
  });
});

void describe("API auth: no control token configured", () => {
  const h = apiForSuite();

  void test("control routes answer 403 naming the setting", async () => {
    for (const path of [
      "/v1/peers/sidecar/release",
      "/v1/peers/sidecar/restart",
      "/v1/peers/sidecar/check",
      "/v1/peers/sidecar/silence",
      "/v1/alerts/architect/test",
    ]) {
      const r = await getJson(`${h.url}${path}`, { method: "POST", headers: bearer("anything") });
      assert.equal(r.status, 403, path);
      assert.equal(r.body.error.message, "control endpoints are disabled: set node.api_token");
    }
    assert.equal(h.backend.calls.length, 0);
  });
});
