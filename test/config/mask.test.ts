// Secrets never appear in `wdmesh validate` output nor in any config error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";
import { maskedConfig, MASK } from "../../src/config/mask.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

const dir = fileTempDir("wdm-mask-");
const FILE_SECRET = "file-secret-NOT-TO-LEAK-5511";
writeFileSync(join(dir, "mesh.key"), `${FILE_SECRET}\n`);

const ENV = {
  API: "api-secret-NOT-TO-LEAK-0001",
  READ: "read-secret-NOT-TO-LEAK-0002",
  HOOK: "hook-secret-NOT-TO-LEAK-0003",
  PD: "pd-secret-NOT-TO-LEAK-0004",
  SLACKPATH: "T000/B000/slack-NOT-TO-LEAK",
  ARG: "arg-secret-NOT-TO-LEAK-0005",
  PEERNAME: "peer-name-not-to-leak-0006",
};
const LITERALS = [
  "literal-header-NOT-TO-LEAK",
  "literal-routing-NOT-TO-LEAK",
  "probe-header-NOT-TO-LEAK",
  "urlpass-NOT-TO-LEAK",
];
const ALL = [...Object.values(ENV), ...LITERALS, FILE_SECRET];

const YAML = `
node: { name: n1, listen: "0.0.0.0:9760", api_token: "\${API}", read_token: "\${READ}" }
peers:
  - name: a
    probe: { http: { url: "http://127.0.0.1:1/h", headers: { Authorization: "probe-header-NOT-TO-LEAK" } } }
    restart: { command: { argv: [/usr/bin/restart, "--token=\${ARG}"] } }
mesh: { key: "\${file:${join(dir, "mesh.key")}}", members: [{ name: m2, url: "http://user:urlpass-NOT-TO-LEAK@127.0.0.1:9761" }] }
alerts:
  - { name: w, webhook: { url: "http://127.0.0.1:1/w", secret: "\${HOOK}" }, headers: { X-Api-Key: literal-header-NOT-TO-LEAK } }
  - { name: p, pagerduty: { routing_key: "\${PD}" } }
  - { name: p2, webhook: { url: "http://127.0.0.1:1/p", format: pagerduty, routing_key: literal-routing-NOT-TO-LEAK } }
  - { name: s, slack: { url: "https://hooks.slack.com/services/\${SLACKPATH}" } }
`;

function assertNoSecret(text: string, what: string): void {
  for (const s of ALL) assert.ok(!text.includes(s), `${what} leaks ${s}:\n${text}`);
}

void test("maskedConfig hides every secret and keeps the rest", () => {
  const rc = parseConfig(YAML, ENV);
  assert.equal(rc.node.apiToken, ENV.API, "the resolved config itself carries the real value");
  const masked = maskedConfig(rc) as typeof rc;
  const text = JSON.stringify(masked);
  assertNoSecret(text, "masked config");
  assert.equal(masked.node.apiToken, MASK);
  assert.equal(masked.node.readToken, MASK);
  assert.equal(masked.mesh?.key, MASK);
  assert.equal(masked.mesh?.members[0]?.url, `http://user:${MASK}@127.0.0.1:9761`);
  const [w, p, p2, s] = masked.alerts as unknown as Array<Record<string, unknown>>;
  assert.equal(w?.secret, MASK);
  assert.deepEqual(w?.headers, { "X-Api-Key": MASK });
  assert.equal(p?.routingKey, MASK);
  assert.equal(p2?.routingKey, MASK);
  assert.equal(s?.url, MASK);
  const peer = masked.peers[0] as unknown as {
    probe: { http: { headers: Record<string, string> } };
    restart: { command: { argv: string[] } };
  };
  assert.deepEqual(peer.probe.http.headers, { Authorization: MASK });
  assert.deepEqual(
    peer.restart.command.argv,
    ["/usr/bin/restart", MASK],
    "interpolated value anywhere is masked",
  );
  // Non-secrets stay visible.
  assert.equal(masked.node.name, "n1");
  assert.equal(w?.url, "http://127.0.0.1:1/w");
  assert.equal(masked.monitor.policy.intervalMs, 30_000);
});

void test("config errors never contain a secret value", async () => {
  // The same secrets, now in fields that are wrong: each error must still be masked.
  const bad = `
node: { name: "\${API}", api_token: "\${API}", listen: "\${READ}" }
peers:
  - name: "\${PEERNAME}"
    probe: { http: { url: "\${PD}" }, tcp: { host: "\${ARG}", port: "\${ARG}" } }
  - name: "\${PEERNAME}"
    probe: { exec: { argv: ["\${SLACKPATH}"] } }
mesh: { key: short, members: [{ name: "\${API}", url: "\${FILEKEY}" }] }
alerts:
  - { name: w, webhook: { url: "http://127.0.0.1:1/w", secret: "\${HOOK}", format: "\${PD}" } }
  - { name: x, headers: { "literal-header-NOT-TO-LEAK": v }, pagerduty: { routing_key: literal-routing-NOT-TO-LEAK, url: "ftp://\${ARG}" } }
`;
  const file = join(dir, "bad.yaml");
  writeFileSync(file, bad.replace("${FILEKEY}", `\${file:${join(dir, "mesh.key")}}`));
  await assert.rejects(loadConfig(file, { ...ENV, API: "Api-Secret-NOT-TO-LEAK-0001" }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e.issues.length >= 8, e.message);
    assertNoSecret(e.message, "error message");
    assert.ok(!e.message.includes("Api-Secret-NOT-TO-LEAK-0001"));
    assertNoSecret(JSON.stringify(e.issues), "error issues");
    assert.ok(!JSON.stringify(e.issues).includes("Api-Secret-NOT-TO-LEAK-0001"));
    // The duplicate-name message would quote the name; it is masked instead.
    const dup = e.issues.find((i) => i.path === "peers[1].name");
    assert.match(dup?.message ?? "", /duplicate peer name "\*\*\*"/, JSON.stringify(dup));
    return true;
  });
});

void test("validate masks a probe URL's ?token= exactly as the API shows the peer's endpoint", async () => {
  const { probeEndpoint } = await import("../../src/probe/index.js");
  const url = "http://127.0.0.1:9770/health?token=probe-query-NOT-TO-LEAK&x=1";
  const rc = parseConfig(
    `node: { name: n1 }\npeers:\n  - name: q\n    probe: { http: { url: "${url}" } }\n`,
    {},
  );
  const masked = maskedConfig(rc) as { peers: Array<{ probe: { http: { url: string } } }> };
  const shown = masked.peers[0]?.probe.http.url ?? "";
  assert.ok(!shown.includes("probe-query-NOT-TO-LEAK"), shown);
  assert.equal(shown, probeEndpoint({ http: { url } }), "one masking function: validate = API");
  assert.match(shown, /token=\*\*\*/);
});

void test("the resolved config carries its secrets as a value: a spread copy still masks them", () => {
  const rc = parseConfig(YAML, ENV);
  const copy = { ...rc, node: { ...rc.node } };
  assertNoSecret(JSON.stringify(maskedConfig(copy)), "masked spread copy");
});
