// The embedded-agent example's sample config is valid JSON and describes a mesh whose
// siblings can restart each other (three nodes: a majority survives one being down).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

void test("examples/embedded-agent/agent.example.json parses and has a quorum without the failed sibling", () => {
  const text = readFileSync(
    new URL("../../examples/embedded-agent/agent.example.json", import.meta.url),
    "utf8",
  );
  const cfg = JSON.parse(text) as {
    name: string;
    confirm: string;
    siblings: Array<{ name: string; url: string; unit: string }>;
    daemons: Array<{ name: string; url: string }>;
  };
  const nodes = 1 + cfg.siblings.length + cfg.daemons.length;
  const majority = Math.floor(nodes / 2) + 1;
  assert.equal(cfg.confirm, "majority");
  assert.ok(nodes - 1 >= majority, `${nodes} nodes: a majority (${majority}) survives one sibling down`);
  for (const s of cfg.siblings) assert.match(s.url, /^http:\/\/[^/]+$/, "a base URL");
});
