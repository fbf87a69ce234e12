// ${ENV}, ${file:/path} and the $${ escape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { interpolate } from "../../src/config/interpolate.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

const dir = fileTempDir("wdm-interp-");

void test("${ENV} is replaced, also inside a longer string", () => {
  const rc = parseConfig(
    `node: { name: "\${NODE}-1", api_token: "\${TOKEN}" }
peers:
  - name: a
    probe: { http: { url: "http://\${HOST}:9770/health", headers: { Authorization: "Bearer \${TOKEN}" } } }`,
    { NODE: "immune", TOKEN: "t0k3n-0123456789abcdef", HOST: "127.0.0.1" },
  );
  assert.equal(rc.node.name, "immune-1");
  assert.equal(rc.node.apiToken, "t0k3n-0123456789abcdef");
  const probe = rc.peers[0]?.probe as { http: { url: string; headers: Record<string, string> } };
  assert.equal(probe.http.url, "http://127.0.0.1:9770/health");
  assert.equal(probe.http.headers.Authorization, "Bearer t0k3n-0123456789abcdef");
});

void test("an empty variable is used as empty (and then validated)", () => {
  assert.throws(
    () => parseConfig(`node: { name: n1, api_token: "\${EMPTY}" }`, { EMPTY: "" }),
    (e: unknown) => {
      const issues = (e as { issues: Array<{ path: string; message: string }> }).issues;
      assert.deepEqual(
        issues.map((i) => i.path),
        ["node.api_token"],
      );
      assert.match(issues[0]?.message ?? "", /at least 16 characters/);
      return true;
    },
  );
});

void test("${file:/path} reads the file and drops trailing newlines", () => {
  const key = join(dir, "mesh.key");
  writeFileSync(key, "k3y-from-a-file-0123456789\n\n");
  const rc = parseConfig(`node: { name: n1 }\nmesh: { key: "\${file:${key}}" }`, {});
  assert.equal(rc.mesh?.key, "k3y-from-a-file-0123456789");
});

void test("a relative ${file:} path is relative to baseDir", () => {
  writeFileSync(join(dir, "rel.key"), "relative-key-0123456789");
  const rc = parseConfig(`node: { name: n1 }\nmesh: { key: "\${file:rel.key}" }`, {}, "c.yaml", {
    baseDir: dir,
  });
  assert.equal(rc.mesh?.key, "relative-key-0123456789");
});

void test("$${ is a literal ${ and is not interpolated", () => {
  const rc = parseConfig(
    `node: { name: n1 }
peers:
  - name: a
    probe: { exec: { argv: [/bin/sh-free, "$\${HOME}", "a$\${b}c\${X}"] } }`,
    { HOME: "/root", X: "x" },
  );
  const probe = rc.peers[0]?.probe as { exec: { argv: string[] } };
  assert.deepEqual(probe.exec.argv, ["/bin/sh-free", "${HOME}", "a${b}cx"]);
});

void test("a lone $ and keys are left alone", () => {
  const r = interpolate({ "${KEY}": "cost $5", n: 3 }, { KEY: "no" }, dir);
  assert.deepEqual(r.value, { "${KEY}": "cost $5", n: 3 });
  assert.equal(r.resolved.size, 0);
  assert.deepEqual(r.issues, []);
});

void test("interpolate records which paths were resolved, and failures with their path", () => {
  const r = interpolate(
    { node: { api_token: "${A}" }, peers: [{ probe: { exec: { argv: ["/x", "${MISSING}"] } } }] },
    { A: "alpha-secret" },
    dir,
  );
  assert.deepEqual([...r.resolved.entries()], [["node.api_token", "alpha-secret"]]);
  assert.deepEqual(
    r.issues.map((i) => i.path),
    [["peers", 0, "probe", "exec", "argv", 1]],
  );
  assert.deepEqual([...r.failedPaths], ["peers[0].probe.exec.argv[1]"]);
});

void test("a missing variable names the config path where it was used", () => {
  assert.throws(
    () => parseConfig(`node: { name: n1 }\nalerts:\n  - { name: s, slack: { url: "\${SLACK_URL}" } }`, {}),
    (e: unknown) => {
      const issues = (e as { issues: Array<{ path: string; message: string; line?: number }> }).issues;
      assert.deepEqual(
        issues.map((i) => i.path),
        ["alerts[0].slack.url"],
      );
      assert.match(issues[0]?.message ?? "", /SLACK_URL is not set/);
      assert.equal(issues[0]?.line, 3);
      return true;
    },
  );
});
