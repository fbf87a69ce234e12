// A valid file that cannot be applied over the running node is refused whole, each problem
// with its path: removing an ISOLATED peer, and moving the node or a peer to another host
// (read once at start by the host rule and the fleet: applied live, this node would restart
// what runs elsewhere).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/load.js";
import { reloadProblems } from "../../src/reload.js";
import type { PeerHealth } from "../../src/core/types.js";

const parse = (text: string) => parseConfig(text, {}, "node.yaml", { baseDir: "/etc/wdmesh" });
const peer = (name: string, host?: string): string =>
  `  - { name: ${name}, ${host ? `host: ${host}, ` : ""}probe: { tcp: { host: 127.0.0.1, port: 1 } } }\n`;
const file = (nodeHost: string, peers: string): string =>
  `node: { name: n1, host: ${nodeHost} }\npeers:\n${peers}`;
type Statuses = { getPeerStatus: (name: string) => PeerHealth | undefined };
const none: Statuses = { getPeerStatus: () => undefined };
const paths = (before: string, after: string, monitor: Statuses = none): string[] =>
  reloadProblems(monitor, parse(before), parse(after)).map((p) => p.path);

void test("the same hosts, a peer added on this node's host, or a peer's host spelled out: applied", () => {
  const start = file("web-1", peer("a") + peer("b", "web-2"));
  assert.deepEqual(paths(start, start), []);
  assert.deepEqual(paths(start, file("web-1", peer("a", "web-1") + peer("b", "web-2") + peer("c"))), []);
  assert.deepEqual(paths(start, file("web-1", peer("b", "web-2"))), [], "a peer removed");
});

void test("a peer moved to another host, a new peer on another host, node.host changed: refused, each named", () => {
  const start = file("web-1", peer("a") + peer("b", "web-2"));
  const moved = reloadProblems(none, parse(start), parse(file("web-1", peer("a", "web-3") + peer("b"))));
  assert.deepEqual(
    moved.map((p) => p.path),
    ["peers.a.host", "peers.b.host"],
  );
  assert.match(moved[0]?.message ?? "", /peer "a" moved from host web-1 to web-3.*restart the node/);
  assert.match(moved[1]?.message ?? "", /peer "b" moved from host web-2 to web-1/);
  assert.deepEqual(paths(start, file("web-1", peer("a") + peer("b", "web-2") + peer("c", "web-9"))), [
    "peers.c.host",
  ]);
  assert.deepEqual(paths(start, file("web-7", peer("a", "web-1") + peer("b", "web-2"))), ["node.host"]);
});

void test("an ISOLATED peer cannot be removed; other peers can", () => {
  const start = file("web-1", peer("a") + peer("b"));
  const isolated = {
    getPeerStatus: (name: string) => (name === "a" ? ({ status: "ISOLATED" } as PeerHealth) : undefined),
  };
  assert.deepEqual(paths(start, file("web-1", peer("b")), isolated), ["peers.a"]);
  assert.deepEqual(paths(start, file("web-1", peer("a")), isolated), []);
});
