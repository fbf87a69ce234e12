// Container discovery against a fake engine on a unix socket: a container that appears
// (announced on the event stream) is registered, one whose labels change is updated, one
// that is removed is unregistered; an engine that cannot list changes nothing.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import { ContainerDiscovery, type PeerRegistry } from "../../src/discovery/containers.js";
import type { PeerSpec } from "../../src/core/options.js";
import { silentLogger } from "../../src/core/logger.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const dir = fileTempDir("wdm-discovery-");

void test("containers come and go with the engine's list, prompted by its event stream", async () => {
  let list: Array<{ Id: string; Names: string[]; Labels: Record<string, string> }> = [];
  let failList = false;
  let failed = 0;
  const streams = new Set<ServerResponse>();
  const socket = join(dir, "engine.sock");
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    if (url.includes("/events")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("");
      streams.add(res);
      res.on("close", () => streams.delete(res));
      return;
    }
    if (url.includes("/containers/json")) {
      assert.match(decodeURIComponent(url), /"label":\["wdmesh.watch=true"\]/);
      if (failList) return void (failed++, res.writeHead(500).end('{"message":"boom"}'));
      return void res.writeHead(200).end(JSON.stringify(list));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const event = (action: string): void => {
    for (const s of streams) s.write(JSON.stringify({ Type: "container", Action: action }) + "\n");
  };

  const peers = new Map<string, PeerSpec>();
  const log: string[] = [];
  const registry: PeerRegistry = {
    registerPeer: (s) => (peers.set(s.name, s), log.push(`+${s.name}`)),
    updatePeer: (s) => (peers.set(s.name, s), log.push(`~${s.name}`)),
    removePeer: async (n) => (log.push(`-${n}`), peers.delete(n)),
  };
  const d = new ContainerDiscovery(registry, {
    engine: "docker",
    socket,
    label: "wdmesh.watch=true",
    timeoutMs: 2000,
    // Far longer than the test: only events prompt a new look.
    intervalMs: 3_600_000,
    taken: (n) => n === "configured",
    logger: silentLogger,
  });
  after(() => d.stop());
  await d.start();
  assert.equal(log.length, 0);
  await until("the event stream open", () => streams.size === 1);

  list = [
    { Id: "a1", Names: ["/api"], Labels: { "wdmesh.watch": "true" } },
    { Id: "c1", Names: ["/configured"], Labels: { "wdmesh.watch": "true" } },
    { Id: "b1", Names: ["/bad"], Labels: { "wdmesh.watch": "true", "wdmesh.restart": "reboot" } },
  ];
  event("start");
  await until("api registered", () => peers.has("api"));
  assert.deepEqual(log, ["+api"], "a configured name and a bad label are not watched");
  assert.deepEqual(peers.get("api")?.probe, {
    container: { name: "api", engine: "docker", socket, discovered: true },
  });

  list = [{ Id: "a1", Names: ["/api"], Labels: { "wdmesh.watch": "true", "wdmesh.interval": "2s" } }];
  event("update");
  await until("api updated", () => log.includes("~api"));
  assert.equal(peers.get("api")?.interval, "2s");

  failList = true;
  list = [];
  event("destroy");
  await until("a list the engine failed", () => failed > 0);
  await d.reconcile();
  assert.deepEqual(d.peers(), ["api"], "a failed list keeps the peers");
  assert.ok(!log.includes("-api"));
  failList = false;
  event("destroy");
  await until("api removed", () => log.includes("-api"));
  assert.deepEqual([...peers.keys()], []);
  assert.deepEqual(log, ["+api", "~api", "-api"]);
});
