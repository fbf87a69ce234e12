// Authenticated heartbeat (GET /health?nonce=N answered with an HMAC proof) against real loopback /health endpoints, honest and not.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { heartbeatProof, verifyHeartbeatProof } from "../../src/probe/heartbeat-proof.js";
import { createProber } from "../../src/probe/index.js";
import type { Prober } from "../../src/probe/prober.js";
import { heartbeatServer, httpServer, silentServer, type HeartbeatMode } from "../helpers/hostile-server.js";

const KEY = "mesh-key-0123456789";
const NODE = "node-b";

void describe("heartbeat proof", () => {
  void test("matches HMAC-SHA256 computed independently (openssl dgst -sha256 -hmac)", () => {
    // printf 'n1:abc' | openssl dgst -sha256 -hmac 'secret-key'
    assert.equal(
      heartbeatProof("secret-key", "n1", "abc"),
      "177de1a9a410b439e037f4ac6609a5c42e0886cf8dba44b70b46fe41cb82b2b3",
    );
    // printf 'node-a:00ff' | openssl dgst -sha256 -hmac 'k'
    assert.equal(
      heartbeatProof("k", "node-a", "00ff"),
      "b57ef41aced5b7f03895007022ed26c2738f0634ef32d17e815d98dc4d69b0f7",
    );
  });

  void test("verify accepts the proof and rejects every variation", () => {
    const p = heartbeatProof(KEY, NODE, "n0nce");
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", p), true);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", p.toUpperCase()), true);
    assert.equal(verifyHeartbeatProof(`${KEY}x`, NODE, "n0nce", p), false);
    assert.equal(verifyHeartbeatProof(KEY, "node-c", "n0nce", p), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "other", p), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", p.slice(0, 63)), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", `${p.slice(0, 63)}g`), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", ""), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", 42), false);
    assert.equal(verifyHeartbeatProof(KEY, NODE, "n0nce", undefined), false);
  });
});

void describe("heartbeat probe", () => {
  let prober: Prober;
  before(() => {
    prober = createProber();
  });
  after(async () => {
    await prober.close();
  });

  async function probeMode(mode: HeartbeatMode): Promise<{ ok: boolean; error?: string }> {
    const s = await heartbeatServer(NODE, KEY, mode);
    try {
      return await prober.probe({ heartbeat: { url: s.url, node: NODE, key: KEY } }, 2_000);
    } finally {
      await s.close();
    }
  }

  void test("an honest node is alive", async () => {
    const r = await probeMode("ok");
    assert.equal(r.ok, true, r.error);
  });

  const impostors: Array<[HeartbeatMode, RegExp]> = [
    [
      "wrong-proof",
      /^heartbeat proof invalid: proof does not match the mesh key \(impostor on this port\?\)$/,
    ],
    [
      "wrong-node",
      /^heartbeat proof invalid: node is "intruder", expected "node-b" \(impostor on this port\?\)$/,
    ],
    ["no-proof", /^heartbeat proof invalid: no proof in the answer \(impostor on this port\?\)$/],
    ["plain-200", /^heartbeat proof invalid: response is not JSON \(impostor on this port\?\)$/],
    ["not-json", /^heartbeat proof invalid: response is not JSON \(impostor on this port\?\)$/],
  ];
  for (const [mode, expected] of impostors) {
    void test(`${mode} is a miss that never reveals the key`, async () => {
      const r = await probeMode(mode);
      assert.equal(r.ok, false);
      assert.match(r.error ?? "", expected);
      assert.ok(!(r.error ?? "").includes(KEY));
    });
  }

  void test("each probe sends a fresh nonce to <url>/health (a trailing slash is fine)", async () => {
    const seen: string[] = [];
    const s = await httpServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      seen.push(`${u.pathname}?${u.searchParams.get("nonce")}`);
      const nonce = u.searchParams.get("nonce") ?? "";
      res.end(JSON.stringify({ status: "ok", node: NODE, proof: heartbeatProof(KEY, NODE, nonce) }));
    });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await prober.probe({ heartbeat: { url: `${s.url}/`, node: NODE, key: KEY } }, 2_000);
        assert.equal(r.ok, true, r.error);
      }
    } finally {
      await s.close();
    }
    assert.equal(seen.length, 3);
    for (const p of seen) assert.match(p, /^\/health\?[0-9a-f]{32}$/);
    assert.equal(new Set(seen).size, 3, "nonces repeat");
  });

  void test("a replayed answer (proof for another nonce) is rejected", async () => {
    const s = await httpServer((_req, res) => {
      res.end(
        JSON.stringify({ status: "ok", node: NODE, proof: heartbeatProof(KEY, NODE, "recorded-nonce") }),
      );
    });
    try {
      const r = await prober.probe({ heartbeat: { url: s.url, node: NODE, key: KEY } }, 2_000);
      assert.match(r.error ?? "", /proof does not match/);
    } finally {
      await s.close();
    }
  });

  void test("a proven node that is not ok reports its status", async () => {
    const s = await httpServer((req, res) => {
      const nonce = new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "";
      res.end(JSON.stringify({ status: "draining", node: NODE, proof: heartbeatProof(KEY, NODE, nonce) }));
    });
    try {
      const r = await prober.probe({ heartbeat: { url: s.url, node: NODE, key: KEY } }, 2_000);
      assert.equal(r.error, 'heartbeat status "draining" (expected "ok")');
    } finally {
      await s.close();
    }
  });

  void test("shares the HTTP machinery: status, body cap and deadline", async () => {
    const down = await httpServer((_req, res) => {
      res.writeHead(503).end("{}");
    });
    const big = await httpServer((_req, res) => {
      res.end(`{"pad":"${"x".repeat(100_000)}"}`);
    });
    const silent = await silentServer();
    try {
      const spec = (url: string) => ({ heartbeat: { url, node: NODE, key: KEY } });
      assert.equal((await prober.probe(spec(down.url), 2_000)).error, "status 503 (expected 200)");
      assert.equal((await prober.probe(spec(big.url), 2_000)).error, "body larger than 65536 bytes");
      const t0 = performance.now();
      assert.equal((await prober.probe(spec(silent.url), 300)).error, "timeout after 300 ms (headers)");
      assert.ok(performance.now() - t0 < 30_000, "the deadline bounded the wait (only a hang fails this)");
    } finally {
      await Promise.all([down.close(), big.close(), silent.close()]);
    }
  });
});
