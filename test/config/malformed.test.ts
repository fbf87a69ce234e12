// Malformed config files: each problem is reported at its exact path, with a useful
// message (and hint), and a file with many problems reports all of them at once.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, parseConfig, type ConfigIssue } from "../../src/config/load.js";
import { WatchdogError } from "../../src/core/errors.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const tmp = fileTempDir("wdm-config-");
mkdirSync(join(tmp, "a-directory"));

const PEER = `
  - name: a
    probe: { http: { url: "http://127.0.0.1:1/health" } }`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfig(text, env, "test.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail("config was accepted but should have been rejected");
}

interface Case {
  name: string;
  yaml: string;
  env?: NodeJS.ProcessEnv;
  /** Exactly the reported issues: path and a fragment of message (or hint). */
  expect: Array<{ path: string; message: RegExp; hint?: RegExp }>;
}

const cases: Case[] = [
  {
    name: "wrong type: peers is a mapping",
    yaml: `node: { name: n1 }\npeers: { name: a }`,
    expect: [{ path: "peers", message: /must be a list, not a mapping/ }],
  },
  {
    name: "wrong type: count given as a word",
    yaml: `node: { name: n1 }\ndefaults: { missed_before_restart: three }`,
    expect: [{ path: "defaults.missed_before_restart", message: /must be a number, not a string/ }],
  },
  {
    name: "wrong type: node is a string",
    yaml: `node: immune`,
    expect: [{ path: "node", message: /must be a mapping, not a string/ }],
  },
  {
    name: "unknown top-level key with a hint",
    yaml: `node: { name: n1 }\npeer: []`,
    expect: [{ path: "peer", message: /unknown key "peer"/, hint: /did you mean "peers"\?/ }],
  },
  {
    name: "misspelled key in defaults",
    yaml: `node: { name: n1 }\ndefaults: { retry_intervall: 5s }`,
    expect: [
      { path: "defaults.retry_intervall", message: /unknown key/, hint: /did you mean "retry_interval"\?/ },
    ],
  },
  {
    name: "camelCase key in a peer",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    retryInterval: 5s`,
    expect: [
      { path: "peers[0].retryInterval", message: /unknown key/, hint: /did you mean "retry_interval"\?/ },
    ],
  },
  {
    name: "unknown key far from any allowed key lists the allowed ones",
    yaml: `node: { name: n1, colour: blue }`,
    expect: [
      { path: "node.colour", message: /unknown key "colour"/, hint: /allowed here: name, listen, data_dir/ },
    ],
  },
  {
    name: "non-http probe URL",
    yaml: `node: { name: n1 }\npeers:\n  - name: a\n    probe: { http: { url: "ftp://127.0.0.1/health" } }`,
    expect: [{ path: "peers[0].probe.http.url", message: /must be an http\(s\) URL/ }],
  },
  {
    name: "unparseable mesh member URL",
    yaml: `node: { name: n1 }\nmesh: { key: "0123456789abcdef0123456789abcdef", members: [{ name: m2, url: "not a url" }] }`,
    expect: [{ path: "mesh.members[0].url", message: /must be an http\(s\) URL/ }],
  },
  {
    name: "bad duration string",
    yaml: `node: { name: n1 }\ndefaults: { interval: 5 minutes }`,
    expect: [{ path: "defaults.interval", message: /must be a duration such as "500ms"/ }],
  },
  {
    name: "negative duration number",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    timeout: -5`,
    expect: [{ path: "peers[0].timeout", message: /must be a duration/ }],
  },
  {
    name: "negative count",
    yaml: `node: { name: n1 }\ndefaults: { restarts_before_isolate: -1 }`,
    expect: [{ path: "defaults.restarts_before_isolate", message: /whole number from 0 to 1000/ }],
  },
  {
    name: "zero interval (library range)",
    yaml: `node: { name: n1 }\ndefaults: { interval: 0, timeout: 0 }`,
    expect: [{ path: "defaults.interval", message: /must be >= 1 ms/ }],
  },
  {
    name: "missing node.name",
    yaml: `node: { listen: "127.0.0.1:9760" }`,
    expect: [{ path: "node.name", message: /is required/ }],
  },
  {
    name: "missing node section",
    yaml: `peers: []`,
    expect: [{ path: "node", message: /is required/ }],
  },
  {
    name: "invalid node name",
    yaml: `node: { name: "Immune Node" }`,
    expect: [{ path: "node.name", message: /not a valid name/ }],
  },
  {
    name: "missing environment variable",
    yaml: `node: { name: n1, api_token: "\${WDM_TEST_NOT_SET}" }`,
    expect: [
      {
        path: "node.api_token",
        message: /environment variable WDM_TEST_NOT_SET is not set/,
        hint: /Environment/,
      },
    ],
  },
  {
    name: "secret file that does not exist",
    yaml: `node: { name: n1 }\nmesh: { key: "\${file:${tmp}/missing.key}" }`,
    expect: [{ path: "mesh.key", message: /secret file .*missing\.key does not exist/ }],
  },
  {
    name: "secret file that is a directory",
    yaml: `node: { name: n1 }\nmesh: { key: "\${file:${tmp}/a-directory}" }`,
    expect: [{ path: "mesh.key", message: /is a directory/ }],
  },
  {
    name: "unterminated reference",
    yaml: `node: { name: n1, api_token: "\${WDMESH_API_TOKEN" }`,
    expect: [{ path: "node.api_token", message: /unterminated "\$\{"/, hint: /\$\$\{/ }],
  },
  {
    name: "malformed reference",
    yaml: `node: { name: n1, api_token: "\${not valid}" }`,
    expect: [{ path: "node.api_token", message: /is not a valid reference/ }],
  },
  {
    name: "duplicate peer names",
    yaml: `node: { name: n1 }\npeers:${PEER}${PEER}`,
    expect: [
      { path: "peers[1].name", message: /duplicate peer name "a" \(first used at peers\[0\]\.name\)/ },
    ],
  },
  {
    name: "two probe kinds in one peer",
    yaml: `node: { name: n1 }\npeers:\n  - name: a\n    probe: { http: { url: "http://127.0.0.1:1/" }, tcp: { host: 127.0.0.1, port: 1 } }`,
    expect: [{ path: "peers[0].probe", message: /has http and tcp; keep exactly one of http, tcp, exec/ }],
  },
  {
    name: "no probe",
    yaml: `node: { name: n1 }\npeers:\n  - name: a`,
    expect: [{ path: "peers[0].probe", message: /is required/ }],
  },
  {
    name: "empty probe mapping",
    yaml: `node: { name: n1 }\npeers:\n  - name: a\n    probe: {}`,
    expect: [{ path: "peers[0].probe", message: /needs exactly one of http, tcp, exec/ }],
  },
  {
    name: "bad isolate mode",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    isolate: { systemd: { unit: a.service, mode: nuke } }`,
    expect: [{ path: "peers[0].isolate.systemd.mode", message: /must be one of network, stop, freeze/ }],
  },
  {
    name: "restart neither none nor a mapping",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    restart: always`,
    expect: [{ path: "peers[0].restart", message: /must be "none" or a mapping/ }],
  },
  {
    name: "timeout >= interval in a peer override",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    interval: 10s\n    timeout: 10s`,
    expect: [
      {
        path: "peers[0].timeout",
        message: /must be shorter than interval \(timeout 10000 ms >= interval 10000 ms\)/,
      },
    ],
  },
  {
    name: "timeout from defaults >= a peer's shorter interval",
    yaml: `node: { name: n1 }\ndefaults: { interval: 30s, timeout: 5s }\npeers:${PEER}\n    interval: 2s`,
    expect: [
      { path: "peers[0].interval", message: /timeout must be shorter than interval .*comes from defaults/ },
    ],
  },
  {
    name: "timeout >= interval in defaults",
    yaml: `node: { name: n1 }\ndefaults: { interval: 5s, timeout: 6s }`,
    expect: [{ path: "defaults.timeout", message: /must be shorter than interval/ }],
  },
  {
    name: "restart_backoff max below initial",
    yaml: `node: { name: n1 }\ndefaults: { restart_backoff: { initial: 1m, max: 10s } }`,
    expect: [{ path: "defaults.restart_backoff.max", message: /must be >= restart_backoff\.initial/ }],
  },
  {
    name: "public listen without api_token",
    yaml: `node: { name: n1, listen: "0.0.0.0:9760" }`,
    expect: [
      {
        path: "node.read_token",
        message: /is required because node\.listen \(0\.0\.0\.0:9760\) is not a loopback address/,
        hint: /add `read_token: \$\{file:\/etc\/wdmesh\/read\.token\}` under node:.*or `public_reads: true`/,
      },
      {
        path: "node.listen",
        message: /not a loopback address/,
        hint: /set node\.api_token or bind 127\.0\.0\.1/,
      },
    ],
  },
  {
    name: "public IPv6 listen without api_token",
    yaml: `node: { name: n1, listen: "[::]:9760", public_reads: true }`,
    expect: [{ path: "node.listen", message: /not a loopback address/, hint: /set node\.api_token/ }],
  },
  {
    name: "public listen with api_token but without read_token (reads would be open to the network)",
    yaml: `node: { name: n1, listen: "0.0.0.0:9760", api_token: "0123456789abcdef" }`,
    expect: [{ path: "node.read_token", message: /not a loopback address/, hint: /public_reads: true/ }],
  },
  {
    name: "malformed listen",
    yaml: `node: { name: n1, listen: "::1:9760" }`,
    expect: [{ path: "node.listen", message: /must be host:port/ }],
  },
  {
    name: "short api_token",
    yaml: `node: { name: n1, api_token: short }`,
    expect: [{ path: "node.api_token", message: /at least 16 characters/ }],
  },
  {
    name: "bad severity",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: am, min_severity: WARN, alertmanager: { url: "http://127.0.0.1:9093" } }`,
    expect: [{ path: "alerts[0].min_severity", message: /must be one of INFO, MEDIUM, HIGH, CRITICAL/ }],
  },
  {
    name: "bad unit name",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    restart: { systemd: { unit: sidecar } }`,
    expect: [
      { path: "peers[0].restart.systemd.unit", message: /not a systemd unit name.*"sidecar\.service"/ },
    ],
  },
  {
    name: "template unit without instance",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    restart: { systemd: { unit: "agent@.service" } }`,
    expect: [{ path: "peers[0].restart.systemd.unit", message: /not a systemd unit name/ }],
  },
  {
    name: "relative argv[0]",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    restart: { command: { argv: [restart-a] } }`,
    expect: [{ path: "peers[0].restart.command.argv", message: /argv\[0\] must be an absolute path/ }],
  },
  {
    name: "empty argv",
    yaml: `node: { name: n1 }\npeers:\n  - name: a\n    probe: { exec: { argv: [] } }`,
    expect: [{ path: "peers[0].probe.exec.argv", message: /must list at least the program/ }],
  },
  {
    name: "tcp port out of range",
    yaml: `node: { name: n1 }\npeers:\n  - name: a\n    probe: { tcp: { host: 127.0.0.1, port: 70000 } }`,
    expect: [{ path: "peers[0].probe.tcp.port", message: /from 1 to 65535/ }],
  },
  {
    name: "duplicate alert sink names",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: s, slack: { url: "http://127.0.0.1:1/a" } }\n  - { name: s, slack: { url: "http://127.0.0.1:1/b" } }`,
    expect: [{ path: "alerts[1].name", message: /duplicate alert sink name "s"/ }],
  },
  {
    name: "two sink kinds in one alert",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: s, slack: { url: "http://127.0.0.1:1/a" }, alertmanager: { url: "http://127.0.0.1:9093" } }`,
    expect: [{ path: "alerts[0]", message: /has alertmanager and slack; keep exactly one/ }],
  },
  {
    name: "pagerduty-format webhook without routing_key",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: s, webhook: { url: "http://127.0.0.1:1/a", format: pagerduty } }`,
    expect: [{ path: "alerts[0].webhook.routing_key", message: /is required when format is pagerduty/ }],
  },
  {
    name: "standard-format webhook without a whsec_ secret, or with a short one",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: s, webhook: { url: "http://127.0.0.1:1/a", format: standard } }\n  - { name: t, webhook: { url: "http://127.0.0.1:1/a", format: standard, secret: whsec_AAAA } }`,
    expect: [
      { path: "alerts[0].webhook.secret", message: /is required when format is standard/ },
      { path: "alerts[1].webhook.secret", message: /24 to 64 bytes.*when format is standard/ },
    ],
  },
  {
    name: "invalid header name",
    yaml: `node: { name: n1 }\nalerts:\n  - { name: s, headers: { "X Bad": v }, slack: { url: "http://127.0.0.1:1/a" } }`,
    expect: [{ path: 'alerts[0].headers["X Bad"]', message: /not a valid HTTP header name/ }],
  },
  {
    name: "mesh members without a mesh key",
    yaml: `node: { name: n1 }\nmesh: { members: [{ name: m2, url: "http://127.0.0.1:9761" }] }`,
    expect: [{ path: "mesh.key", message: /is required when mesh.members is set/ }],
  },
  {
    name: "mesh member named like this node",
    yaml: `node: { name: n1 }\nmesh: { key: "0123456789abcdef0123456789abcdef", members: [{ name: n1, url: "http://127.0.0.1:9761" }] }`,
    expect: [{ path: "mesh.members[0].name", message: /this node's own name/ }],
  },
  {
    name: "duplicate mesh members",
    yaml: `node: { name: n1 }\nmesh: { key: "0123456789abcdef0123456789abcdef", members: [{ name: m, url: "http://127.0.0.1:1" }, { name: m, url: "http://127.0.0.1:2" }] }`,
    expect: [{ path: "mesh.members[1].name", message: /duplicate mesh member name "m"/ }],
  },
  {
    name: "mesh member named like a peer",
    yaml: `node: { name: n1 }\npeers:${PEER}\nmesh: { key: "0123456789abcdef0123456789abcdef", members: [{ name: a, url: "http://127.0.0.1:1" }] }`,
    expect: [{ path: "mesh.members[0].name", message: /also a peer name/ }],
  },
  {
    name: "concurrency set on a peer",
    yaml: `node: { name: n1 }\npeers:${PEER}\n    concurrency: 4`,
    expect: [{ path: "peers[0].concurrency", message: /unknown key/, hint: /set it under defaults/ }],
  },
  {
    name: "duplicate YAML key",
    yaml: `node: { name: n1 }\nnode: { name: n2 }`,
    expect: [{ path: "", message: /YAML syntax error: .*unique/ }],
  },
];

void describe("malformed configs: one exact path each", () => {
  assert.ok(cases.length >= 20);
  for (const c of cases) {
    void test(c.name, () => {
      const issues = issuesOf(c.yaml, c.env);
      assert.deepEqual(
        issues.map((i) => i.path),
        c.expect.map((e) => e.path),
        `paths of ${JSON.stringify(issues, null, 1)}`,
      );
      c.expect.forEach((e, n) => {
        const got = issues[n] as ConfigIssue;
        assert.match(got.message, e.message);
        if (e.hint) assert.match(got.hint ?? "", e.hint);
      });
    });
  }
});

void describe("whole-file problems", () => {
  void test("YAML syntax error carries line:col and nothing else is validated", async () => {
    await assert.rejects(loadConfig(join(fixtures, "syntax-error.txt"), {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.issues.length >= 1);
      for (const i of e.issues) {
        assert.equal(i.path, "");
        assert.match(i.message, /^YAML syntax error/);
        assert.equal(typeof i.line, "number");
        assert.equal(typeof i.column, "number");
      }
      // The unclosed flow mapping of line 5 is detected where line 6 starts.
      assert.equal(e.issues[0]?.line, 6, JSON.stringify(e.issues));
      assert.match(e.message, /syntax-error\.txt:6:3/);
      return true;
    });
  });

  void test("empty file", async () => {
    await assert.rejects(loadConfig(join(fixtures, "empty.yaml"), {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.issues.map((i) => [i.path, i.message]),
        [["", "the config file is empty"]],
      );
      assert.match(e.issues[0]?.hint ?? "", /node:/);
      return true;
    });
  });

  void test("comment-only file counts as empty", () => {
    assert.deepEqual(
      issuesOf("# nothing here\n").map((i) => i.message),
      ["the config file is empty"],
    );
  });

  void test("top-level list", async () => {
    await assert.rejects(loadConfig(join(fixtures, "top-level-list.yaml"), {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues.length, 1);
      assert.equal(e.issues[0]?.path, "");
      assert.match(e.issues[0]?.message ?? "", /must be a mapping .* not a list/);
      return true;
    });
  });

  void test("top-level scalar", () => {
    const issues = issuesOf("just words");
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.message ?? "", /not a string/);
  });

  void test("missing config file", async () => {
    await assert.rejects(loadConfig(join(tmp, "nope.yaml"), {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, "WDM_CONFIG");
      assert.match(e.message, /nope\.yaml: 1 config problem:\n {2}\(file\): the config file does not exist/);
      return true;
    });
  });
});

void describe("every problem at once", () => {
  void test("the multi-error fixture reports all its problems, each at its path and line", async () => {
    const file = join(fixtures, "multi-error.yaml");
    await assert.rejects(loadConfig(file, {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e instanceof WatchdogError);
      assert.equal(e.code, "WDM_CONFIG");
      const byPath = new Map(e.issues.map((i) => [i.path, i]));
      const expected: Array<[string, RegExp, number]> = [
        ["node.name", /not a valid name/, 3],
        ["node.listen", /not a loopback address/, 4],
        ["node.read_token", /not a loopback address/, 3],
        ["node.api_tokn", /unknown key/, 5],
        ["defaults.retry_intervall", /unknown key/, 7],
        ["defaults.timeout", /must be a duration/, 8],
        ["peers[0].probe", /has http and tcp/, 11],
        ["peers[0].probe.http.url", /http\(s\) URL/, 11],
        ["peers[0].probe.tcp.port", /1 to 65535/, 11],
        ["peers[0].restart.systemd.unit", /systemd unit name/, 12],
        ["peers[0].isolate.systemd.mode", /network, stop, freeze/, 13],
        ["peers[1].name", /duplicate peer name/, 14],
        ["peers[1].probe", /needs exactly one/, 15],
        ["peers[1].timeout", /shorter than interval/, 16],
        ["mesh.key", /WDM_TEST_UNSET_VARIABLE is not set/, 19],
        ["mesh.confirm", /any, majority, all/, 20],
        ["alerts[0]", /has webhook and slack/, 22],
        ["alerts[0].min_severity", /INFO, MEDIUM, HIGH, CRITICAL/, 23],
      ];
      assert.deepEqual([...byPath.keys()].sort(), expected.map((x) => x[0]).sort());
      for (const [path, re, line] of expected) {
        const i = byPath.get(path) as ConfigIssue;
        assert.match(i.message, re, path);
        assert.equal(i.line, line, `line of ${path}`);
      }
      // The message lists every issue, one per line, in file order.
      const lines = e.message.split("\n");
      assert.match(lines[0] ?? "", /multi-error\.yaml: 18 config problems:/);
      assert.equal(lines.length, 1 + expected.length);
      const order = e.issues.map((i) => i.line ?? 0);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
      );
      for (const i of e.issues) assert.ok(e.message.includes(`${i.path}: ${i.message}`));
      return true;
    });
  });

  void test("a failed interpolation is reported once, not again as a schema problem", () => {
    const issues = issuesOf(`node: { name: n1, api_token: "\${WDM_TEST_NOT_SET}" }`);
    assert.equal(issues.length, 1);
  });
});

void test("writeFileSync-made config with relative ${file:} resolves next to the config file", async () => {
  const dir = join(tmp, "rel");
  mkdirSync(dir);
  writeFileSync(join(dir, "mesh.key"), "0123456789abcdef-key\n");
  writeFileSync(
    join(dir, "c.yaml"),
    `node: { name: n1, data_dir: state }\nmesh: { key: "\${file:mesh.key}" }\n`,
  );
  const rc = await loadConfig(join(dir, "c.yaml"), {});
  assert.equal(rc.mesh?.key, "0123456789abcdef-key");
  assert.equal(rc.node.dataDir, join(dir, "state"));
});
