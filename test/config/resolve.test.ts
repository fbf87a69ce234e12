// The example validates; defaults and per-peer overrides resolve to the options the
// library takes (camelCase, ms), and sinks get SinkConfig's defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";
import { compilePolicy } from "../../src/core/options.js";

const example = fileURLToPath(new URL("../../examples/mesh.yaml", import.meta.url));
export const EXAMPLE_ENV = {
  WDMESH_API_TOKEN: "api-token-0123456789abcdef",
  WDMESH_MESH_KEY: "mesh-key-0123456789abcdef",
  WEBHOOK_SECRET: "webhook-secret-42",
  PAGERDUTY_ROUTING_KEY: "pd-routing-key-77",
};

void test("examples/mesh.yaml validates and resolves", async () => {
  const rc = await loadConfig(example, EXAMPLE_ENV);
  assert.equal(rc.node.name, "immune");
  assert.deepEqual(rc.node.listen, { host: "127.0.0.1", port: 9760 });
  assert.equal(rc.node.dataDir, "/var/lib/wdmesh");
  assert.equal(rc.node.apiToken, EXAMPLE_ENV.WDMESH_API_TOKEN);
  assert.deepEqual(rc.monitor, {
    selfName: "immune",
    policy: {
      intervalMs: 30_000,
      timeoutMs: 5_000,
      retryIntervalMs: 5_000,
      missedBeforeRestart: 3,
      restartsBeforeIsolate: 3,
      startupGraceMs: 30_000,
      backoffInitialMs: 10_000,
      backoffMaxMs: 300_000,
      stableAfterMs: 600_000,
      successThreshold: 1,
    },
    concurrency: 256,
  });
  assert.deepEqual(
    rc.peers.map((p) => p.name),
    ["sidecar", "shield", "ledger"],
  );
  const [sidecar, shield, ledger] = rc.peers;
  assert.deepEqual(sidecar?.probe, {
    http: { url: "http://127.0.0.1:9770/health", expectStatus: 200, headers: {} },
  });
  assert.deepEqual(sidecar?.restart, { systemd: { unit: "sidecar.service" } });
  assert.deepEqual(sidecar?.isolate, { systemd: { unit: "sidecar.service", mode: "network" } });
  assert.deepEqual(shield?.probe, { tcp: { host: "127.0.0.1", port: 9780 } });
  assert.deepEqual(shield?.restart, {
    command: { argv: ["/usr/local/bin/restart-shield"], timeout: 60_000 },
  });
  assert.equal(shield?.isolate, "none");
  assert.equal(shield?.policy.intervalMs, 10_000);
  assert.equal(shield?.policy.timeoutMs, 2_000);
  assert.equal(shield?.policy.retryIntervalMs, 5_000, "not overridden: from defaults");
  assert.equal(ledger?.policy.missedBeforeRestart, 5);
  assert.deepEqual(ledger?.isolate, { systemd: { unit: "ledger.service", mode: "freeze" } });
  assert.deepEqual(rc.mesh, {
    key: EXAMPLE_ENV.WDMESH_MESH_KEY,
    members: [{ name: "sidecar-wd", url: "http://10.0.0.2:9760" }],
    confirm: "majority",
  });
  assert.deepEqual(rc.alerts, [
    {
      name: "architect",
      minSeverity: "HIGH",
      timeoutMs: 10_000,
      maxAgeMs: 86_400_000,
      headers: {},
      kind: "webhook",
      url: "https://hooks.example/wd",
      format: "generic",
      secret: EXAMPLE_ENV.WEBHOOK_SECRET,
    },
    {
      name: "am",
      minSeverity: "INFO",
      timeoutMs: 10_000,
      maxAgeMs: 86_400_000,
      headers: {},
      kind: "alertmanager",
      url: "http://127.0.0.1:9093",
      resendIntervalMs: 60_000,
    },
    {
      name: "oncall",
      minSeverity: "CRITICAL",
      timeoutMs: 10_000,
      maxAgeMs: 21_600_000,
      headers: {},
      kind: "pagerduty",
      routingKey: EXAMPLE_ENV.PAGERDUTY_ROUTING_KEY,
      url: "https://events.pagerduty.com/v2/enqueue",
    },
  ]);
});

void test("a minimal file gets every default", () => {
  const rc = parseConfig("node: { name: solo }\n", {}, "min.yaml", { baseDir: "/etc/wdmesh" });
  assert.deepEqual(rc.node, {
    name: "solo",
    listen: { host: "127.0.0.1", port: 9760 },
    dataDir: "/var/lib/wdmesh",
    publicReads: false,
    hostnames: [],
    maxConnections: 1024,
  });
  assert.equal(rc.monitor.policy.intervalMs, 30_000);
  assert.equal(rc.monitor.policy.timeoutMs, 5_000);
  assert.equal(rc.monitor.policy.retryIntervalMs, 30_000, "retry_interval defaults to interval");
  assert.equal(rc.monitor.policy.startupGraceMs, 30_000, "startup_grace defaults to interval");
  assert.equal(rc.monitor.policy.backoffInitialMs, 10_000);
  assert.equal(rc.monitor.policy.backoffMaxMs, 300_000);
  assert.equal(rc.monitor.policy.stableAfterMs, 600_000);
  assert.equal(rc.monitor.concurrency, 256);
  assert.deepEqual(rc.peers, []);
  assert.equal(rc.mesh, null);
  assert.deepEqual(rc.alerts, []);
});

void test("per-peer overrides apply on top of defaults, exactly as compilePolicy does", () => {
  const rc = parseConfig(
    `node: { name: n1 }
defaults: { interval: 20s, retry_interval: 2s, restart_backoff: { initial: 1s, max: 1m } }
peers:
  - name: a
    probe: { tcp: { host: 127.0.0.1, port: 1 } }
  - name: b
    probe: { tcp: { host: 127.0.0.1, port: 2 } }
    interval: 3s
    timeout: 1s
    missed_before_restart: 1
    restarts_before_isolate: 0
    restart_backoff: { max: 30s }
    success_threshold: 2
    stable_after: 90000
`,
    {},
  );
  const [a, b] = rc.peers;
  const base = compilePolicy({
    interval: "20s",
    retryInterval: "2s",
    restartBackoff: { initial: "1s", max: "1m" },
  });
  assert.deepEqual(rc.monitor.policy, base);
  assert.deepEqual(a?.policy, compilePolicy({}, base), "no override: the defaults' policy");
  assert.equal(a?.policy.timeoutMs, 5_000);
  assert.equal(a?.policy.retryIntervalMs, 2_000);
  assert.equal(a?.restart, undefined, "no restart configured stays undefined (emit only)");
  assert.deepEqual(
    b?.policy,
    compilePolicy(
      {
        interval: "3s",
        timeout: "1s",
        missedBeforeRestart: 1,
        restartsBeforeIsolate: 0,
        restartBackoff: { max: "30s" },
        successThreshold: 2,
        stableAfter: 90_000,
      },
      base,
    ),
  );
  assert.equal(b?.policy.intervalMs, 3_000);
  assert.equal(b?.policy.timeoutMs, 1_000);
  assert.equal(b?.policy.retryIntervalMs, 2_000, "inherited from defaults");
  assert.equal(b?.policy.missedBeforeRestart, 1);
  assert.equal(b?.policy.restartsBeforeIsolate, 0);
  assert.equal(b?.policy.backoffInitialMs, 1_000);
  assert.equal(b?.policy.backoffMaxMs, 30_000);
  assert.equal(b?.policy.successThreshold, 2);
  assert.equal(b?.policy.stableAfterMs, 90_000);
});

void test("the exported configSchema enforces the cross-field rules on its own", () => {
  const doc = {
    node: { name: "n1", listen: "0.0.0.0:9760" },
    peers: [
      { name: "a", probe: { tcp: { host: "127.0.0.1", port: 1 } } },
      { name: "a", probe: { tcp: { host: "127.0.0.1", port: 2 } }, interval: "1s", timeout: "2s" },
    ],
  };
  const r = configSchema.safeParse(doc);
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues.map((i) => i.path.join(".")).sort(), [
    "node.listen",
    "node.read_token",
    "peers.1.name",
    "peers.1.timeout",
  ]);
});

void test("listen: IPv6 loopback and port 0 need no token; a token allows any address", () => {
  assert.deepEqual(parseConfig(`node: { name: n1, listen: "[::1]:0" }`, {}).node.listen, {
    host: "::1",
    port: 0,
  });
  assert.deepEqual(parseConfig(`node: { name: n1, listen: "localhost:9760" }`, {}).node.listen, {
    host: "localhost",
    port: 9760,
  });
  const rc = parseConfig(
    `node: { name: n1, listen: "0.0.0.0:9760", api_token: "0123456789abcdef", read_token: "fedcba9876543210" }`,
    {},
  );
  assert.deepEqual(rc.node.listen, { host: "0.0.0.0", port: 9760 });
});

void test("self_health: thresholds in ms, false turns it off, absent keeps the library's defaults", () => {
  const rc = parseConfig(
    "node: { name: n1 }\nself_health: { loop_delay_p99: 150ms, lateness_p99: 1s, window: 20s, deadline_factor: 3 }\n",
    {},
  );
  assert.deepEqual(rc.monitor.selfHealth, {
    loopDelayP99Ms: 150,
    latenessP99Ms: 1_000,
    windowMs: 20_000,
    deadlineFactor: 3,
  });
  assert.equal(parseConfig("node: { name: n1 }\nself_health: false\n", {}).monitor.selfHealth, false);
  assert.equal("selfHealth" in parseConfig("node: { name: n1 }\n", {}).monitor, false);
  assert.throws(
    () => parseConfig("node: { name: n1 }\nself_health: { deadline_factor: 0.5 }\n", {}),
    /self_health\.deadline_factor/,
  );
});

void test("a sink's retry policy resolves to ms, defaults fill the missing bound, max below initial is refused", () => {
  const rc = parseConfig(
    [
      "node: { name: n1 }",
      "alerts:",
      '  - { name: fast, retry: { initial: 200ms, max: 2s }, webhook: { url: "http://127.0.0.1:1/a" } }',
      '  - { name: capped, retry: { max: 10s }, webhook: { url: "http://127.0.0.1:1/b" } }',
      '  - { name: plain, webhook: { url: "http://127.0.0.1:1/c" } }',
    ].join("\n"),
  );
  assert.deepEqual(
    rc.alerts.map((s) => s.retry),
    [{ initialMs: 200, maxMs: 2_000 }, { initialMs: 1_000, maxMs: 10_000 }, undefined],
  );
  assert.throws(
    () =>
      parseConfig(
        'node: { name: n1 }\nalerts:\n  - { name: s, retry: { initial: 1m, max: 10s }, webhook: { url: "http://127.0.0.1:1/a" } }',
      ),
    /alerts\[0\]\.retry\.max: must be >= retry\.initial \(60000 ms\), got 10000 ms/,
  );
});
