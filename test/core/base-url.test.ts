// One rule for joining a route onto a base URL: trailing slashes dropped first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withoutTrailingSlash } from "../../src/core/base-url.js";
import { heartbeatUrl } from "../../src/probe/heartbeat.js";
import { alertmanagerEndpoint } from "../../src/alert/sink-request.js";

void test("withoutTrailingSlash drops every trailing slash and nothing else", () => {
  for (const [url, base] of [
    ["http://h:9760", "http://h:9760"],
    ["http://h:9760/", "http://h:9760"],
    ["http://h:9760//", "http://h:9760"],
    ["http://h:9760/agent/", "http://h:9760/agent"],
    ["/", ""],
    ["", ""],
  ] as const) {
    assert.equal(withoutTrailingSlash(url), base, url);
  }
});

void test("a route is joined once whether or not the base ends with a slash", () => {
  assert.equal(heartbeatUrl("http://h:9760/"), "http://h:9760/health");
  assert.equal(heartbeatUrl("http://h:9760"), "http://h:9760/health");
  assert.equal(alertmanagerEndpoint("http://am:9093//"), "http://am:9093/api/v2/alerts");
});
