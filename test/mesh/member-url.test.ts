// A member URL is a base URL: one that names a member route (/health, /v1/mesh/view) is
// refused, in the library and in the config, with the base URL to use instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "../../src/monitor.js";
import { monitorOptionsFromConfig } from "../../src/config/monitor-config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { memberUrlProblem } from "../../src/mesh/member-url.js";

const KEY = "0123456789abcdef0123";

void test("a member URL ending in /health is refused by the Monitor with the base URL to use", () => {
  assert.throws(
    () =>
      new Monitor({
        selfName: "agent-a",
        mesh: { key: KEY, members: [{ name: "agent-b", url: "http://10.0.0.2:9801/health" }] },
      }),
    (e: unknown) => {
      const err = e as { code: string; field: string; message: string };
      assert.equal(err.code, "WDM_INVALID_OPTION");
      assert.equal(err.field, "mesh.members[0].url");
      assert.match(
        err.message,
        /names the member's \/health route, not its base URL: use "http:\/\/10\.0\.0\.2:9801"/,
      );
      return true;
    },
  );
});

void test("base URLs pass, with or without a trailing slash or a proxy prefix; routes and queries do not", () => {
  for (const ok of ["http://10.0.0.2:9760", "http://10.0.0.2:9760/", "https://proxy.example/agents/b/"]) {
    assert.equal(memberUrlProblem(ok), undefined, ok);
  }
  assert.match(memberUrlProblem("http://h:1/agents/b/v1/mesh/view") ?? "", /use "http:\/\/h:1\/agents\/b"/);
  assert.match(memberUrlProblem("http://h:1/v1/mesh/") ?? "", /\/v1\/mesh route/);
  assert.match(memberUrlProblem("http://h:1/?x=1") ?? "", /without a query/);
  assert.match(memberUrlProblem("ftp://h:1") ?? "", /base http\(s\) URL/);
});

void test("the config names the field and the fix", async () => {
  const yaml = [
    "node: { name: wd-a }",
    "mesh:",
    `  key: ${KEY}`,
    "  members: [{ name: wd-b, url: http://127.0.0.1:9761/health }]",
    "peers: []",
    "",
  ].join("\n");
  const err = await monitorOptionsFromConfig(yaml).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  const issue = err.issues.find((i) => i.path === "mesh.members[0].url");
  assert.ok(issue, JSON.stringify(err.issues));
  assert.match(issue.message, /use "http:\/\/127\.0\.0\.1:9761"/);
});
