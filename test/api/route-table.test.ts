// The route table and the README's "HTTP API" table list the same routes with the same
// access, so a route added to src/api/routes/table.ts without its line in the README
// (or documented but gone) fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ROUTES } from "../../src/api/routes/table.js";

/** README auth column → the table's access. */
const ACCESS: Record<string, string> = { none: "open", read: "read", token: "control", member: "open" };

function readmeRoutes(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const start = readme.indexOf("### HTTP API");
  assert.ok(start >= 0, "the README has an HTTP API section");
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const out: string[] = [];
  for (const line of section.split("\n")) {
    const m = /^\| `(GET|POST) ([^`?]+)(?:[^|\\]|\\.)*\| (\w+)\s*\|/.exec(line);
    if (!m) continue;
    const [, method, path, auth] = m as unknown as [string, string, string, string];
    const access = ACCESS[auth];
    assert.ok(access, `unknown auth ${auth} in: ${line}`);
    // `/v1/peers/:name/{release,restart,check}` is three routes.
    const alt = /\{([^}]+)\}/.exec(path);
    const paths = alt ? alt[1]!.split(",").map((x) => path.replace(alt[0], x)) : [path];
    for (const p of paths) out.push(`${method} ${p} ${access}`);
  }
  return out.sort();
}

void test("every route of the table is in the README's HTTP API table with its access, and no other", () => {
  const table = ROUTES.map((r) => `${r.methods[0]} ${r.path} ${r.access}`).sort();
  assert.ok(table.length >= 17, "the whole table");
  assert.deepEqual(readmeRoutes(), table);
});
