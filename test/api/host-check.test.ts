// DNS rebinding and cross-site requests: a request whose Host does not name this node
// gets 421; a control request with a foreign Origin gets 403. The node's own names
// (listen address, loopback names, node.hostnames) and its dashboard still work.
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { hostOnly } from "../../src/api/host-check.js";
import { rawRequest as raw } from "../helpers/raw-request.js";
import { bearer, startApi, type Harness } from "./harness.js";

void test("hostOnly strips the port and IPv6 brackets", () => {
  assert.equal(hostOnly("Evil.Example:9760"), "evil.example");
  assert.equal(hostOnly("[::1]:9760"), "::1");
  assert.equal(hostOnly("localhost"), "localhost");
});

void describe("Host and Origin checks", () => {
  let h: Harness;
  const TOKEN = "ctl-token-0123456789";
  before(async () => {
    h = await startApi({ apiToken: TOKEN, hostnames: ["wd1.example.net"] });
  });
  after(() => h.close());

  void test("a rebound name in Host gets 421 on read routes", async () => {
    for (const path of ["/v1/mesh", "/v1/events", "/v1/deliveries", "/metrics", "/"]) {
      const r = await raw(h.port, path, { host: `evil.rebind.example:${h.port}` });
      assert.equal(r.status, 421, `${path}: ${r.body}`);
      assert.match(r.body, /WDM_MISDIRECTED/);
      assert.match(r.body, /node\.hostnames/);
    }
  });

  void test("/health answers whatever name a member reaches the node by", async () => {
    const r = await raw(h.port, "/health", { host: `wd1.internal.example:${h.port}` });
    assert.equal(r.status, 200, r.body);
  });

  void test("the listen address, loopback names and node.hostnames are served", async () => {
    for (const host of [
      `127.0.0.1:${h.port}`,
      `localhost:${h.port}`,
      "localhost",
      `wd1.example.net:${h.port}`,
      `WD1.example.net`,
    ]) {
      const r = await raw(h.port, "/v1/mesh", { host });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
    }
  });

  void test("control routes refuse a foreign Origin (403) and accept the node's own", async () => {
    /** A control request with this Origin (none when undefined). */
    const check = (origin?: string) =>
      raw(
        h.port,
        "/v1/peers/sidecar/check",
        { host: `127.0.0.1:${h.port}`, ...(origin === undefined ? {} : { origin }), ...bearer(TOKEN) },
        "POST",
      );
    const foreign = await check("https://evil.example");
    assert.equal(foreign.status, 403, foreign.body);
    assert.match(foreign.body, /Origin/);
    const nul = await check("null");
    assert.equal(nul.status, 403, nul.body);
    const own = await check(`http://127.0.0.1:${h.port}`);
    assert.notEqual(own.status, 403, own.body);
    assert.notEqual(own.status, 421, own.body);
    const none = await check();
    assert.notEqual(none.status, 403, none.body);
  });
});

void test("createApiServer refuses a non-loopback address without a read token unless publicReads", async () => {
  const { createApiServer } = await import("../../src/api/server.js");
  const { FakeBackend } = await import("../helpers/fake-backend.js");
  const api = createApiServer({ backend: new FakeBackend(), apiToken: "ctl-token-0123456789" });
  await assert.rejects(api.listen({ host: "0.0.0.0", port: 0 }), {
    code: "WDM_LISTEN",
    message: /without a read token: set readToken \(node\.read_token\), or publicReads/,
  });
  assert.equal(api.server.listening, false, "nothing was bound");
  await api.close();
});
