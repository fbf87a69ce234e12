// monitor.fetch: the mesh routes as a fetch-style handler (web Request in, Response out),
// answering exactly what monitor.mesh.routes answers on node:http.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/monitor.js";

const KEY = "0123456789abcdef0123";
const TOKEN = "read-token-0123456789";

function monitor(): Monitor {
  return new Monitor({
    selfName: "agent-a",
    readToken: TOKEN,
    mesh: { key: KEY, members: [{ name: "agent-b", url: "http://127.0.0.1:1" }] },
  });
}

void test("GET /health with a nonce answers the node and its proof", async () => {
  const m = monitor();
  const r = await m.fetch(new Request("http://agent-a.internal:9801/health?nonce=abc123"));
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
  const body = (await r.json()) as { status: string; node: string; proof?: string };
  assert.equal(body.status, "ok");
  assert.equal(body.node, "agent-a");
  assert.equal(body.proof, m.mesh.healthProof("abc123"));
});

void test("/v1/mesh needs the read token; wrong methods get 405 with Allow; HEAD has no body", async () => {
  const m = monitor();
  assert.equal((await m.fetch(new Request("http://a/v1/mesh"))).status, 401);
  const ok = await m.fetch(
    new Request("http://a/v1/mesh", { headers: { Authorization: `Bearer ${TOKEN}` } }),
  );
  assert.equal(ok.status, 200);
  assert.equal(
    ((await ok.json()) as { node?: string; self?: string; members?: unknown }).members !== undefined,
    true,
  );
  const post = await m.fetch(new Request("http://a/health", { method: "POST", body: "x" }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  const head = await m.fetch(new Request("http://a/health", { method: "HEAD" }));
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

void test("a path that is not a watchdog route is a 404 naming the routes", async () => {
  const r = await monitor().fetch(new Request("http://a/api/chat"));
  assert.equal(r.status, 404);
  assert.match(((await r.json()) as { error: { message: string } }).error.message, /\/health, \/v1\/mesh/);
});
