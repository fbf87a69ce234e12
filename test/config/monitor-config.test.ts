// The library's public "config file → Monitor options": the daemon's format, the same
// secrets interpolation, the same typed errors with field paths; and the policy the
// config layer compiled is the one the Monitor runs with (compiled once).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  compilePolicy,
  ConfigError,
  InvalidOptionError,
  loadMonitorOptions,
  Monitor,
  monitorOptionsFromConfig,
  TIMING_DEFAULTS,
} from "../../src/index.js";
import { checkConfig } from "../../src/config/cross-checks.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { configShape } from "../../src/config/schema.js";
import { tempDir } from "../helpers/tmp-dir.js";

const KEY = "mesh-key-0123456789abcdef";
const FILE = `
node: { name: agent-a, listen: "127.0.0.1:0", read_token: "\${READ}" }
defaults: { interval: 2s, missed_before_restart: 2, concurrency: 8 }
peers:
  - name: worker
    probe: { http: { url: "http://127.0.0.1:1/health", headers: { Authorization: "\${AUTH}" } } }
    restart: { command: { argv: [/bin/true] } }
    timeout: 500ms
mesh:
  key: "\${file:mesh.key}"
  confirm: all
  members: [{ name: agent-b, url: "http://127.0.0.1:2" }]
self_health: { loop_delay_p99: 300ms }
`;
const ENV = { READ: "read-token-0123456789", AUTH: "Bearer s3cret-header" };

/** White-box: the policy a registered peer runs with. */
const policyOf = (m: Monitor, peer: string): unknown =>
  (m as unknown as { peers: Map<string, { policy: unknown }> }).peers.get(peer)?.policy;
const basePolicy = (m: Monitor): unknown => (m as unknown as { policy: unknown }).policy;

void test("loadMonitorOptions: a daemon config file gives the Monitor's options, peers and listen address", async (t) => {
  const dir = tempDir(t, "wdm-monitor-config-");
  writeFileSync(join(dir, "mesh.key"), `${KEY}\n`);
  const path = join(dir, "agent.yaml");
  writeFileSync(path, FILE);
  const cfg = await loadMonitorOptions(path, { env: ENV });

  assert.equal(cfg.options.selfName, "agent-a");
  assert.equal(cfg.options.concurrency, 8);
  assert.equal(cfg.options.readToken, ENV.READ, "${ENV} interpolated");
  assert.deepEqual(cfg.options.selfHealth, { loopDelayP99Ms: 300 });
  assert.deepEqual(cfg.options.mesh, {
    key: KEY,
    members: [{ name: "agent-b", url: "http://127.0.0.1:2" }],
    confirm: "all",
  });
  assert.deepEqual(cfg.listen, { host: "127.0.0.1", port: 0 });
  assert.deepEqual(
    cfg.options.policy,
    compilePolicy({ interval: "2s", missedBeforeRestart: 2 }),
    "defaults: compiled, durations in ms",
  );
  const [worker] = cfg.peers;
  assert.equal(worker?.name, "worker");
  assert.deepEqual(worker?.policy, compilePolicy({ timeout: "500ms" }, cfg.options.policy));
  assert.deepEqual(worker?.probe, {
    http: {
      url: "http://127.0.0.1:1/health",
      expectStatus: 200,
      headers: { Authorization: ENV.AUTH },
    },
  });
  for (const s of [KEY, ENV.READ, ENV.AUTH]) assert.ok(cfg.secrets.includes(s), "every secret listed");

  // The Monitor runs with the very policies the config layer compiled: nothing is compiled again.
  const m = new Monitor({ ...cfg.options });
  for (const p of cfg.peers) m.registerPeer(p);
  assert.equal(basePolicy(m), cfg.options.policy);
  assert.equal(policyOf(m, "worker"), worker?.policy);
  assert.ok(Object.isFrozen(worker?.policy), "a compiled policy cannot be changed after its checks");
  await m.stop();
});

void test("monitorOptionsFromConfig takes the same document as an object, and relative ${file:} paths from baseDir", async (t) => {
  const dir = tempDir(t, "wdm-monitor-config-");
  writeFileSync(join(dir, "mesh.key"), KEY);
  const cfg = await monitorOptionsFromConfig(
    {
      node: { name: "agent-a" },
      peers: [{ name: "w", probe: { tcp: { host: "127.0.0.1", port: 1 } }, interval: 6000 }],
      mesh: { key: "${file:mesh.key}", members: [{ name: "agent-b", url: "http://127.0.0.1:2" }] },
    },
    { baseDir: dir, env: {} },
  );
  assert.equal(cfg.options.mesh?.key, KEY);
  assert.equal(cfg.options.mesh?.confirm, "majority", "the default");
  assert.equal(cfg.options.policy?.intervalMs, TIMING_DEFAULTS.intervalMs);
  assert.equal(cfg.peers[0]?.policy?.intervalMs, 6_000);
  assert.equal(cfg.options.readToken, undefined);
  assert.deepEqual(cfg.listen, { host: "127.0.0.1", port: 9760 }, "node.listen's default");
});

void test("config problems are one ConfigError listing every field path (with lines for text), secrets masked", async () => {
  const text = `node: { name: agent-a }
defaults: { interval: 1s, timeout: 2s }
peers:
  - name: w
    probe: { http: { url: "\${AUTH}" } }
    missed_before_restart: 0
`;
  const err = await monitorOptionsFromConfig(text, {
    env: { AUTH: "not a url but a s3cret" },
    sourceName: "agent.yaml",
  }).then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.equal(err.code, "WDM_CONFIG");
  const paths = err.issues.map((i) => i.path);
  assert.ok(paths.includes("defaults.timeout"), paths.join(", "));
  assert.ok(paths.includes("peers[0].probe.http.url"), paths.join(", "));
  assert.ok(paths.includes("peers[0].missed_before_restart"), paths.join(", "));
  assert.ok(
    err.issues.every((i) => typeof i.line === "number"),
    "text source: every issue has a line",
  );
  assert.doesNotMatch(JSON.stringify(err.issues) + err.message, /s3cret/);

  const fromObject = await monitorOptionsFromConfig({
    node: { name: "a" },
    defaults: { concurrency: 70_000 },
  }).then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
  assert.ok(fromObject instanceof ConfigError);
  assert.deepEqual(
    fromObject.issues.map((i) => i.path),
    ["defaults.concurrency"],
  );

  const missing = await loadMonitorOptions("/nonexistent/agent.yaml").then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
  assert.ok(missing instanceof ConfigError);
  assert.match(missing.message, /does not exist/);
});

void test("the cross-field checks compile the policies resolve uses: defaults and each peer over them", () => {
  const doc = {
    node: { name: "n" },
    defaults: { interval: "10s" },
    peers: [
      { name: "a", probe: { tcp: { host: "h", port: 1 } } },
      { name: "b", probe: { tcp: { host: "h", port: 2 } }, timeout: "1s" },
    ],
  };
  const { issues, policies } = checkConfig(doc);
  assert.deepEqual(issues, []);
  assert.deepEqual(policies.base, compilePolicy({ interval: "10s" }));
  assert.deepEqual(policies.peers[1], compilePolicy({ timeout: "1s" }, policies.base));
  // resolve takes these very objects (compiled once), not copies compiled again.
  const resolved = resolveConfig(configShape.parse(doc), policies, "/");
  assert.equal(resolved.monitor.policy, policies.base);
  assert.equal(resolved.peers[0]?.policy, policies.peers[0]);
  assert.equal(resolved.peers[1]?.policy, policies.peers[1]);
  // A peer whose timing is wrong has no policy, and its problem is an issue.
  const bad = checkConfig({
    ...doc,
    peers: [{ name: "a", probe: { tcp: { host: "h", port: 1 } }, timeout: "20s" }],
  });
  assert.equal(bad.policies.peers[0], undefined);
  assert.deepEqual(
    bad.issues.map((i) => i.path.join(".")),
    ["peers.0.timeout"],
  );
});

void test("the Monitor takes a compiled policy only as compilePolicy returned it, and not beside timing keys", async () => {
  const policy = compilePolicy({ interval: "3s" });
  const m = new Monitor({ selfName: "n", policy });
  assert.equal(basePolicy(m), policy);
  m.registerPeer({
    name: "p",
    probe: { tcp: { host: "h", port: 1 } },
    policy: compilePolicy({ timeout: "1s" }, policy),
  });
  await m.stop();

  const refused = (opts: Record<string, unknown>, field: RegExp): void => {
    assert.throws(
      () => new Monitor({ selfName: "n", ...opts }),
      (e: unknown) => e instanceof InvalidOptionError && field.test(e.field ?? ""),
      JSON.stringify(opts),
    );
  };
  // A copy or a hand-made policy could break a rule compilePolicy checks (timeout < interval).
  refused({ policy: { ...policy } }, /^policy$/);
  refused({ policy: { ...policy, timeoutMs: 10_000 } }, /^policy$/);
  refused({ policy, interval: "5s" }, /^interval$/);
  assert.throws(
    () =>
      new Monitor({ selfName: "n", policy }).registerPeer({
        name: "p",
        probe: { tcp: { host: "h", port: 1 } },
        policy: { ...policy },
      }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === "peers.p.policy",
  );
  // Without a policy the timing keys are compiled and checked as they always were.
  assert.throws(
    () => new Monitor({ selfName: "n", interval: "1s", timeout: "2s" }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === "timeout",
  );
});
