// createProber: dispatch, lifecycle, endpoint and target helpers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WatchdogError } from "../../src/core/errors.js";
import type { ProbeSpec } from "../../src/core/options.js";
import { createProber, probeEndpoint, probeTarget } from "../../src/probe/index.js";
import { heartbeatServer, silentServer, statusServer } from "../helpers/hostile-server.js";
import { until } from "../helpers/wait.js";

void test("dispatches each spec kind to its probe", async () => {
  const prober = createProber();
  const http = await statusServer(200);
  const tcp = await silentServer();
  const hb = await heartbeatServer("n1", "k");
  try {
    const specs: ProbeSpec[] = [
      { http: { url: http.url } },
      { tcp: { host: "127.0.0.1", port: tcp.port } },
      { exec: { argv: ["true"] } },
      { heartbeat: { url: hb.url, node: "n1", key: "k" } },
    ];
    for (const spec of specs) {
      const r = await prober.probe(spec, 2_000);
      assert.equal(r.ok, true, `${JSON.stringify(spec)}: ${r.error}`);
    }
    assert.equal(http.connections(), 1);
    assert.equal(tcp.connections(), 1);
    assert.equal(hb.connections(), 1);
  } finally {
    await prober.close();
    await Promise.all([http.close(), tcp.close(), hb.close()]);
  }
});

void test("close() is idempotent; a probe after close is a miss", async () => {
  const prober = createProber();
  await prober.close();
  await prober.close();
  const r = await prober.probe({ exec: { argv: ["true"] } }, 1_000);
  assert.deepEqual(r, { ok: false, duration_ms: 0, error: "prober closed" });
});

void test("close() settles in-flight probes and leaves no socket behind", async () => {
  const prober = createProber();
  const s = await silentServer();
  try {
    const pending = prober.probe({ http: { url: s.url } }, 60_000);
    await until("the probe connected", () => s.connections() > 0);
    await prober.close();
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.error, "prober closed");
  } finally {
    await s.close();
  }
});

void test("invalid timeouts and unknown kinds are misses, not throws", async () => {
  const prober = createProber();
  try {
    assert.equal((await prober.probe({ exec: { argv: ["true"] } }, 0)).error, "invalid timeout 0 ms");
    assert.equal(
      (await prober.probe({ exec: { argv: ["true"] } }, Number.NaN)).error,
      "invalid timeout NaN ms",
    );
    const odd = { grpc: {} } as unknown as ProbeSpec;
    assert.equal((await prober.probe(odd, 1_000)).error, "unknown probe kind");
  } finally {
    await prober.close();
  }
});

void test("invalid prober options throw a typed error naming the field", () => {
  assert.throws(
    () => createProber({ maxBodyBytes: 0 }),
    (e: unknown) =>
      e instanceof WatchdogError && e.code === "WDM_INVALID_OPTION" && e.field === "prober.maxBodyBytes",
  );
  assert.throws(
    () => createProber({ maxConnectionsPerOrigin: 1.5 }),
    /prober\.maxConnectionsPerOrigin: must be an integer >= 1/,
  );
});

void test("probeEndpoint is human-readable per kind", () => {
  assert.equal(
    probeEndpoint({ http: { url: "http://127.0.0.1:9770/health" } }),
    "http://127.0.0.1:9770/health",
  );
  assert.equal(probeEndpoint({ tcp: { host: "127.0.0.1", port: 9780 } }), "tcp://127.0.0.1:9780");
  assert.equal(probeEndpoint({ tcp: { host: "::1", port: 22 } }), "tcp://[::1]:22");
  assert.equal(probeEndpoint({ exec: { argv: ["/usr/bin/check", "--deep"] } }), "exec:/usr/bin/check");
  assert.equal(
    probeEndpoint({ heartbeat: { url: "http://10.0.0.2:9760", node: "a", key: "secret" } }),
    "http://10.0.0.2:9760/health",
  );
  assert.ok(
    !probeEndpoint({ heartbeat: { url: "http://10.0.0.2:9760", node: "a", key: "secret" } }).includes(
      "secret",
    ),
  );
});

void test("probeTarget gives host and port (default ports from the scheme)", () => {
  assert.deepEqual(probeTarget({ http: { url: "http://127.0.0.1:9770/health" } }), {
    host: "127.0.0.1",
    port: 9770,
  });
  assert.deepEqual(probeTarget({ http: { url: "https://example.test/h" } }), {
    host: "example.test",
    port: 443,
  });
  assert.deepEqual(probeTarget({ http: { url: "http://[::1]/h" } }), { host: "::1", port: 80 });
  assert.deepEqual(probeTarget({ heartbeat: { url: "http://10.0.0.2:9760", node: "a", key: "k" } }), {
    host: "10.0.0.2",
    port: 9760,
  });
  assert.deepEqual(probeTarget({ tcp: { host: "127.0.0.1", port: 9780 } }), {
    host: "127.0.0.1",
    port: 9780,
  });
  assert.deepEqual(probeTarget({ exec: { argv: ["true"] } }), {});
  assert.deepEqual(probeTarget({ http: { url: "nope" } }), {});
});

void describe("probeEndpoint redaction", () => {
  void test("passwords and secret-looking query values are never shown", () => {
    assert.equal(
      probeEndpoint({ http: { url: "http://admin:hunter2@127.0.0.1:9770/health?token=abc123&verbose=1" } }),
      "http://admin:***@127.0.0.1:9770/health?token=***&verbose=1",
    );
    assert.equal(
      probeEndpoint({ http: { url: "http://127.0.0.1:9770/health" } }),
      "http://127.0.0.1:9770/health",
    );
  });
});

void test("a probe that rejects is this node's own fault: inconclusive", async () => {
  const prober = createProber();
  try {
    const spec = {
      http: {
        get url(): string {
          throw new Error("prober bug");
        },
      },
    } as ProbeSpec;
    const r = await prober.probe(spec, 300);
    assert.deepEqual(r, {
      ok: false,
      duration_ms: 0,
      error: "probe failed: prober bug",
      cause: { kind: "prober" },
    });
  } finally {
    await prober.close();
  }
});
