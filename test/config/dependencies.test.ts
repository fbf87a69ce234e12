// peers[].depends_on and storm: in the config file: unknown names (with "did you mean"),
// a peer depending on itself and cycles are config errors naming the path; a good file
// resolves to the library's dependsOn and storm options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, type ConfigIssue } from "../../src/config/load.js";

const peer = (name: string, deps?: string[]) =>
  `  - name: ${name}\n    probe: { http: { url: "http://127.0.0.1:1/${name}" } }` +
  (deps ? `\n    depends_on: [${deps.join(", ")}]` : "");

const file = (...peers: string[]) => `node: { name: n1 }\npeers:\n${peers.join("\n")}\n`;

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, {}, "test.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail("config was accepted but should have been rejected");
}

test("depends_on: a cycle is a config error naming its path", () => {
  const issues = issuesOf(file(peer("web", ["api"]), peer("api", ["db"]), peer("db", ["web"])));
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]?.path, "peers[1].depends_on");
  assert.match(issues[0]?.message ?? "", /cycle: api → db → web → api/);
});

test("depends_on: an unknown name says which peer was probably meant", () => {
  const issues = issuesOf(file(peer("web", ["databse"]), peer("database")));
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]?.path, "peers[0].depends_on[0]");
  assert.match(issues[0]?.message ?? "", /"databse" is not a peer of this file/);
  assert.match(issues[0]?.hint ?? "", /did you mean "database"\?/);
});

test("depends_on: a peer depending on itself is refused", () => {
  const issues = issuesOf(file(peer("web", ["web"])));
  assert.ok(issues.some((i) => i.path === "peers[0].depends_on[0]" && /itself/.test(i.message)));
});

test("depends_on and storm resolve to the library's options", () => {
  const rc = parseConfig(
    `${file(peer("web", ["db"]), peer("db"))}storm: { fraction: 0.55, min_peers: 4 }\n`,
    {},
    "test.yaml",
  );
  assert.deepEqual(rc.peers[0]?.dependsOn, ["db"]);
  assert.equal(rc.peers[1]?.dependsOn, undefined);
  assert.deepEqual(rc.monitor.storm, { fraction: 0.55, minPeers: 4 });
  assert.equal(parseConfig(`${file(peer("db"))}storm: false\n`, {}, "t.yaml").monitor.storm, false);
  const bad = issuesOf(`${file(peer("db"))}storm: { fraction: 0, min_peers: 0 }\n`);
  assert.deepEqual(bad.map((i) => i.path).sort(), ["storm.fraction", "storm.min_peers"]);
});
