// HTTP probe against real loopback servers, each misbehaving in one way.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createProber } from "../../src/probe/index.js";
import type { Prober } from "../../src/probe/prober.js";
import {
  blackholeListener,
  closedPort,
  garbageServer,
  hangUpServer,
  httpServer,
  hugeBodyServer,
  redirectLoopServer,
  resetServer,
  silentServer,
  slowBodyServer,
  slowHeadersServer,
  statusServer,
  type TestServer,
} from "../helpers/hostile-server.js";
import { tempDir } from "../helpers/tmp-dir.js";

/** Slack over a deadline a busy CI machine may need; a probe that ignores its deadline blows far past it. */
const SLACK_MS = 2_000;

let prober: Prober;
before(() => {
  prober = createProber();
});
after(async () => {
  await prober.close();
});

async function withServer<T>(start: Promise<TestServer>, fn: (s: TestServer) => Promise<T>): Promise<T> {
  const s = await start;
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

void describe("http probe: answers", () => {
  void test("healthy 200 is ok", async () => {
    await withServer(statusServer(200), async (s) => {
      const r = await prober.probe({ http: { url: `${s.url}/health` } }, 2_000);
      assert.equal(r.ok, true, r.error);
      assert.equal(r.error, undefined);
      assert.ok(r.duration_ms >= 0 && r.duration_ms < 2_000);
    });
  });

  void test("503 is a miss naming the status", async () => {
    await withServer(statusServer(503, "down"), async (s) => {
      const r = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(r.ok, false);
      assert.equal(r.error, "status 503 (expected 200)");
    });
  });

  void test("expectStatus other than 200", async () => {
    await withServer(statusServer(204, ""), async (s) => {
      const ok = await prober.probe({ http: { url: s.url, expectStatus: 204 } }, 2_000);
      assert.equal(ok.ok, true, ok.error);
      const miss = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(miss.error, "status 204 (expected 200)");
    });
    await withServer(statusServer(200), async (s) => {
      const r = await prober.probe({ http: { url: s.url, expectStatus: 204 } }, 2_000);
      assert.equal(r.error, "status 200 (expected 204)");
    });
  });

  void test("redirect loop is a miss: redirects are not followed", async () => {
    await withServer(redirectLoopServer(301), async (s) => {
      const r = await prober.probe({ http: { url: `${s.url}/a` } }, 2_000);
      assert.equal(r.error, "status 301 (expected 200), redirects are not followed");
      assert.equal(s.connections(), 1);
    });
  });

  void test("custom headers are sent", async () => {
    let seen: string | undefined;
    await withServer(
      httpServer((req, res) => {
        seen = req.headers["x-probe-token"] as string | undefined;
        res.end("ok");
      }),
      async (s) => {
        const r = await prober.probe({ http: { url: s.url, headers: { "X-Probe-Token": "t0k" } } }, 2_000);
        assert.equal(r.ok, true, r.error);
        assert.equal(seen, "t0k");
      },
    );
  });

  void test("keep-alive: 20 sequential probes use one connection", async () => {
    await withServer(statusServer(200), async (s) => {
      for (let i = 0; i < 20; i++) {
        // undici hands a keep-alive socket back to the pool one event-loop turn after a
        // response (it first checks the server did not close it). Probes of one peer are
        // an interval apart; a probe issued in the very same turn would open a 2nd socket.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const r = await prober.probe({ http: { url: `${s.url}/health` } }, 2_000);
        assert.equal(r.ok, true, r.error);
      }
      assert.equal(s.connections(), 1);
    });
  });
});

void describe("http probe: network failures", () => {
  void test("nothing listening: connection refused", async () => {
    const port = await closedPort();
    const r = await prober.probe({ http: { url: `http://127.0.0.1:${port}/health` } }, 2_000);
    assert.equal(r.ok, false);
    assert.equal(r.error, "connection refused");
  });

  void test("connection reset (RST after the request)", async () => {
    await withServer(resetServer(), async (s) => {
      const r = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(r.error, "connection reset");
    });
  });

  void test("connection closed without an answer is a reset", async () => {
    await withServer(hangUpServer(), async (s) => {
      const r = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(r.error, "connection reset");
    });
  });

  void test("garbage instead of HTTP: invalid HTTP response", async () => {
    await withServer(garbageServer(), async (s) => {
      const r = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(r.ok, false);
      assert.match(r.error ?? "", /^invalid HTTP response/);
    });
  });

  void test("unresolvable host: DNS lookup failed", async () => {
    const r = await prober.probe({ http: { url: "http://no-such-host.invalid/health" } }, 5_000);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /^DNS lookup failed: no-such-host\.invalid/);
  });

  void test("invalid URL is a miss, not a throw", async () => {
    const r = await prober.probe({ http: { url: "not a url" } }, 1_000);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /^invalid URL/);
    const ftp = await prober.probe({ http: { url: "ftp://127.0.0.1/" } }, 1_000);
    assert.match(ftp.error ?? "", /scheme ftp: is not http: or https:/);
  });
});

void describe("http probe: one deadline for connect + headers + body", () => {
  const TIMEOUT = 400;

  async function timedOut(url: string, phase: string): Promise<void> {
    const t0 = performance.now();
    const r = await prober.probe({ http: { url } }, TIMEOUT);
    const took = performance.now() - t0;
    assert.equal(r.ok, false);
    assert.equal(r.error, `timeout after ${TIMEOUT} ms (${phase})`);
    assert.ok(took >= TIMEOUT - 5, `settled before the deadline (${took} ms)`);
    assert.ok(took < TIMEOUT + SLACK_MS, `took ${took} ms for a ${TIMEOUT} ms deadline`);
  }

  void test("connect never completes: timeout (connect)", async () => {
    const bh = await blackholeListener();
    try {
      await timedOut(`${bh.url}/health`, "connect");
    } finally {
      await bh.close();
    }
  });

  void test("accepts and never answers: timeout (headers)", async () => {
    await withServer(silentServer(), (s) => timedOut(s.url, "headers"));
  });

  void test("slow loris head, one byte a second: timeout (headers)", async () => {
    await withServer(slowHeadersServer(100), (s) => timedOut(s.url, "headers"));
  });

  void test("slow body, one byte a second: timeout (body)", async () => {
    await withServer(slowBodyServer(100), (s) => timedOut(s.url, "body"));
  });

  void test("the caller's abort signal ends the probe at once", async () => {
    await withServer(silentServer(), async (s) => {
      const ac = new AbortController();
      const t0 = performance.now();
      setTimeout(() => ac.abort(), 50);
      const r = await prober.probe({ http: { url: s.url } }, 10_000, ac.signal);
      assert.equal(r.error, "aborted");
      assert.ok(performance.now() - t0 < 5_000);
    });
  });
});

void describe("http probe: body cap", () => {
  const GIB = 2 ** 30;

  for (const withLength of [false, true]) {
    void test(`1 GiB body (${withLength ? "with" : "without"} content-length): miss quickly, memory flat`, async () => {
      await withServer(hugeBodyServer(GIB, withLength), async (s) => {
        const hs = s as Awaited<ReturnType<typeof hugeBodyServer>>;
        const rssBefore = process.memoryUsage().rss;
        const t0 = performance.now();
        const r = await prober.probe({ http: { url: s.url } }, 30_000);
        const took = performance.now() - t0;
        assert.equal(r.ok, false);
        assert.equal(r.error, "body larger than 65536 bytes");
        assert.ok(took < 5_000, `took ${took} ms`);
        const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
        assert.ok(growthMb < 50, `RSS grew by ${growthMb.toFixed(1)} MB`);
        // The prober hung up: the server stopped streaming long before 1 GiB.
        await sleep(200);
        const sent = hs.bytesSent();
        await sleep(200);
        assert.equal(hs.bytesSent(), sent, "server is still streaming");
        assert.ok(sent < 64 * 2 ** 20, `server sent ${sent} bytes`);
      });
    });
  }

  void test("body at the cap is fine; one byte over is a miss", async () => {
    const small = createProber({ maxBodyBytes: 1_000 });
    try {
      await withServer(statusServer(200, "x".repeat(1_000)), async (s) => {
        const r = await small.probe({ http: { url: s.url } }, 2_000);
        assert.equal(r.ok, true, r.error);
      });
      await withServer(statusServer(200, "x".repeat(1_001)), async (s) => {
        const r = await small.probe({ http: { url: s.url } }, 2_000);
        assert.equal(r.error, "body larger than 1000 bytes");
      });
    } finally {
      await small.close();
    }
  });

  void test("a wrong status wins over an oversized body", async () => {
    await withServer(statusServer(500, "x".repeat(100_000)), async (s) => {
      const r = await prober.probe({ http: { url: s.url } }, 2_000);
      assert.equal(r.error, "status 500 (expected 200)");
    });
  });
});

void describe("http probe: request problems and TLS", () => {
  void test("an invalid header name is a miss naming the problem, not a throw", async () => {
    await withServer(statusServer(200), async (s) => {
      const r = await prober.probe({ http: { url: s.url, headers: { "bad header": "x" } } }, 2_000);
      assert.equal(r.ok, false);
      assert.match(r.error ?? "", /^invalid request: invalid header key/);
      assert.equal(s.connections(), 0);
    });
  });

  void test("https with an untrusted (self-signed) certificate is a TLS error", async (t) => {
    const dir = tempDir(t, "wdm-tls-");
    const gen = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    if (gen.error || gen.status !== 0) {
      const why = "openssl is needed to make a test certificate";
      if (process.env.CI) assert.fail(why);
      t.skip(why);
      return;
    }
    const server = createHttpsServer(
      { key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) },
      (_req, res) => res.end("ok"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await prober.probe({ http: { url: `https://127.0.0.1:${port}/health` } }, 5_000);
      assert.equal(r.ok, false);
      assert.equal(r.error, "TLS error: DEPTH_ZERO_SELF_SIGNED_CERT");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
