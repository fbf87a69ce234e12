// The container keys of the config file: examples/containers.yaml resolves to container
// specs and peers_from; a bad container mapping is refused naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig, parseConfig } from "../../src/config/load.js";

const example = fileURLToPath(new URL("../../examples/containers.yaml", import.meta.url));

void test("examples/containers.yaml validates and resolves", async () => {
  const rc = await loadConfig(example, { WDMESH_API_TOKEN: "api-token-0123456789abcdef" });
  const db = rc.peers.find((p) => p.name === "db");
  assert.deepEqual(db?.probe, { container: { name: "db", engine: "docker" } });
  assert.deepEqual(db?.restart, { container: { name: "db", engine: "docker", stopTimeout: 20_000 } });
  assert.deepEqual(db?.isolate, { container: { name: "db", engine: "docker", hostMode: "stop" } });
  assert.deepEqual(rc.peersFrom, {
    containers: { engine: "docker", label: "wdmesh.watch=true", timeoutMs: 30_000 },
  });
});

void test("a container mapping needs exactly one of name and id, and an absolute socket", () => {
  const bad = (probe: string): string => {
    try {
      parseConfig(`node: { name: n1 }\npeers:\n  - { name: p, probe: ${probe} }\n`, {});
    } catch (e) {
      return String(e instanceof Error ? e.message : e);
    }
    return "accepted";
  };
  assert.match(bad("{ container: { name: a, id: b } }"), /give exactly one of name and id/);
  assert.match(bad("{ container: { } }"), /give exactly one of name and id/);
  assert.match(bad('{ container: { name: a, socket: "docker.sock" } }'), /absolute path/);
  assert.match(bad("{ container: { name: a, engine: lxc } }"), /must be one of docker, podman/);
  assert.match(bad('{ container: { name: "a b" } }'), /is not a container name or id/);
});
