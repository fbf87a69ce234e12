// The API under bad input on the real listener: garbage bytes, oversized headers, a
// throwing backend and a request that never finishes its headers are each answered
// (400, 431, 500, 408) and the server keeps serving.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rawExchange } from "../helpers/raw-request.js";
import { apiForSuite, bearer, getJson, startApi } from "./harness.js";

void describe("API robustness", () => {
  const h = apiForSuite({ apiToken: "t" });

  void test("garbage bytes on the socket get a 400 and the server keeps serving", async () => {
    const out = await rawExchange(h.port, "\x16\x03\x01\x00\xa5garbage\r\n\r\n");
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.match(out, /"code":"WDM_BAD_REQUEST"/);
    const bad2 = await rawExchange(h.port, "GET /v1/mesh HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    assert.match(bad2, /^HTTP\/1\.1 400 /);
    assert.equal((await getJson(`${h.url}/v1/mesh`)).status, 200);
  });

  void test("oversized headers get 431", async () => {
    const out = await rawExchange(
      h.port,
      `GET /v1/mesh HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assert.match(out, /^HTTP\/1\.1 431 /);
    assert.equal((await getJson(`${h.url}/health`)).status, 200);
  });

  void test("a throwing backend gives 500 with a message, is logged, and the server keeps serving", async () => {
    h.backend.throwing = new Error("database is on fire");
    try {
      const r = await getJson(`${h.url}/v1/mesh`);
      assert.equal(r.status, 500);
      assert.equal(r.body.error.code, "WDM_INTERNAL");
      assert.match(r.body.error.message, /GET \/v1\/mesh/);
      assert.ok(!r.body.error.message.includes("fire"), "internal details stay in the log");
      const c = await getJson(`${h.url}/v1/peers/sidecar/restart`, { method: "POST", headers: bearer("t") });
      assert.equal(c.status, 500);
      const m = await getJson(`${h.url}/metrics`);
      assert.equal(m.status, 500);
    } finally {
      h.backend.throwing = undefined;
    }
    const logged = h.logs.filter((l) => l.level === "error");
    assert.ok(logged.length >= 3);
    assert.match(JSON.stringify(logged[0]), /database is on fire/);
    assert.equal((await getJson(`${h.url}/v1/mesh`)).status, 200);
  });

  void test("a request that never finishes its headers is cut off by the headers timeout", async () => {
    const h2 = await startApi({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    try {
      // node checks the deadlines every second; rawExchange gives up after 10 s with no answer,
      // so the 408 itself shows the request was cut off by the server.
      const out = await rawExchange(h2.port, "GET /v1/mesh HTTP/1.1\r\nHost: x\r\n");
      assert.match(out, /^HTTP\/1\.1 408 /);
    } finally {
      await h2.close();
    }
  });
});
