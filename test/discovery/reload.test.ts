// A reload that changes `peers_from` swaps the discovery, against a fake engine on a unix
// socket: containers matched before and after stay the same peers (no remove/register, so
// their state and history stay), those no longer matched are removed, new matches are
// registered; an unchanged peers_from leaves the running discovery alone; an invalid one
// is refused and the running discovery keeps following the old label.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/config/resolve.js";
import type { PeerSpec } from "../../src/core/options.js";
import { silentLogger } from "../../src/core/logger.js";
import { runDaemon } from "../../src/daemon.js";
import { startDiscovery, type DiscoveryConfig } from "../../src/discovery/start.js";
import { discoveryReloadProblems } from "../../src/discovery/reload-checks.js";
import type { PeerRegistry } from "../../src/discovery/containers.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const dir = fileTempDir("wdm-discovery-reload-");

interface FakeContainer {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  health: "healthy" | "unhealthy";
}

/** A fake engine: lists filtered by label as the Docker Engine API does, inspect, an event stream. */
async function fakeEngine(file: string): Promise<{
  socket: string;
  containers: FakeContainer[];
  lists: string[];
  event(action: string): void;
}> {
  const socket = join(dir, file);
  const containers: FakeContainer[] = [];
  const lists: string[] = [];
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://d");
    if (url.pathname.endsWith("/events")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("");
      streams.add(res);
      res.on("close", () => streams.delete(res));
      return;
    }
    if (url.pathname.endsWith("/containers/json")) {
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] };
      const label = filters.label?.[0] ?? "";
      lists.push(label);
      const [k, v] = label.split("=");
      const match = containers.filter(
        (c) => k !== undefined && (v === undefined ? k in c.Labels : c.Labels[k] === v),
      );
      return void res.writeHead(200).end(JSON.stringify(match.map(({ health: _h, ...c }) => c)));
    }
    const inspect = /\/containers\/([^/]+)\/json$/.exec(url.pathname);
    const c = inspect
      ? containers.find((x) => x.Names[0] === `/${inspect[1]}` || x.Id === inspect[1])
      : undefined;
    if (c) {
      return void res.writeHead(200).end(
        JSON.stringify({
          Id: c.Id,
          Name: c.Names[0],
          State: {
            Status: "running",
            Running: true,
            Health: { Status: c.health, FailingStreak: 0, Log: [] },
          },
          HostConfig: { NetworkMode: "bridge" },
          NetworkSettings: { Networks: {} },
          Config: { Labels: c.Labels },
        }),
      );
    }
    res.writeHead(404).end('{"message":"no such container"}');
  });
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return {
    socket,
    containers,
    lists,
    event(action) {
      for (const s of streams) s.write(JSON.stringify({ Type: "container", Action: action }) + "\n");
    },
  };
}

const box = (id: string, name: string, labels: Record<string, string>): FakeContainer => ({
  Id: id,
  Names: [`/${name}`],
  Labels: labels,
  health: "healthy",
});

void test("a changed label swaps the discovery: kept peers untouched, unmatched removed, new ones registered", async () => {
  const engine = await fakeEngine("swap.sock");
  engine.containers.push(
    box("a1", "api", { team: "x", tier: "web" }),
    box("w1", "worker", { team: "x" }),
    box("o1", "other", { tier: "web" }),
  );
  const log: string[] = [];
  const peers = new Map<string, PeerSpec>();
  const registry: PeerRegistry = {
    registerPeer: (s) => (peers.set(s.name, s), log.push(`+${s.name}`)),
    updatePeer: (s) => (peers.set(s.name, s), log.push(`~${s.name}`)),
    removePeer: async (n) => (log.push(`-${n}`), peers.delete(n)),
  };
  const config = (label: string | null, socket = engine.socket): DiscoveryConfig => ({
    peersFrom: label === null ? null : { containers: { engine: "docker", socket, label, timeoutMs: 2000 } },
    peers: [],
    mesh: null,
    monitor: { policy: { intervalMs: 3_600_000 } },
  });
  const d = await startDiscovery(config("team=x"), registry, silentLogger);
  after(() => d.stop());
  assert.deepEqual(log.sort(), ["+api", "+worker"]);

  log.length = 0;
  assert.deepEqual(await d.reconfigure(config("tier=web")), { changed: true });
  assert.deepEqual(log.sort(), ["+other", "-worker"], "api, matched before and after, is left alone");
  assert.equal(engine.lists.at(-1), "tier=web");

  // The same settings again: nothing swapped, nothing listed.
  log.length = 0;
  const lists = engine.lists.length;
  assert.deepEqual(await d.reconfigure(config("tier=web")), { changed: false });
  assert.equal(engine.lists.length, lists);
  // The new discovery follows the new label on the event stream.
  engine.containers.push(box("n1", "newweb", { tier: "web" }), box("n2", "newx", { team: "x" }));
  engine.event("start");
  await until("newweb registered", () => peers.has("newweb"));
  assert.deepEqual(log, ["+newweb"]);

  // A new socket whose engine cannot be reached: the peers handed over stay.
  log.length = 0;
  await d.reconfigure(config("tier=web", join(dir, "missing.sock")));
  assert.deepEqual(log, [], "a discovery that cannot list keeps the peers it was handed");

  // peers_from removed: its peers go as removed containers do.
  log.length = 0;
  assert.deepEqual(await d.reconfigure(config(null)), { changed: true });
  assert.deepEqual(log.sort(), ["-api", "-newweb", "-other"]);
  assert.deepEqual([...peers.keys()], []);
});

void test("through the daemon: a reload keeps a kept container's peer state; an invalid peers_from is refused", async () => {
  const engine = await fakeEngine("daemon.sock");
  const slow = {
    "wdmesh.interval": "200ms",
    "wdmesh.timeout": "150ms",
    "wdmesh.missed_before_restart": "1000",
  };
  engine.containers.push(
    box("a1", "api", { team: "x", tier: "web", ...slow }),
    box("w1", "worker", { team: "x", ...slow }),
    box("o1", "other", { tier: "web", ...slow }),
  );
  const api = engine.containers[0] as FakeContainer;
  api.health = "unhealthy";
  const yaml = (label: string): string => `
node: { name: solo, listen: "127.0.0.1:0", data_dir: ${join(dir, "data")} }
defaults: { interval: 1h }
peers_from:
  containers: { engine: docker, socket: "${engine.socket}", label: "${label}" }
self_health: false
`;
  let text = yaml("team=x");
  const loadConfig = (): Promise<ResolvedConfig> => Promise.resolve(parseConfig(text, {}, "solo.yaml"));
  const d = await runDaemon(await loadConfig(), { logger: silentLogger, loadConfig });
  after(() => d.stop());
  const names = (): string[] =>
    d.monitor
      .allPeers()
      .map((p) => p.name)
      .sort();
  assert.deepEqual(names(), ["api", "worker"]);
  // api fails its HEALTHCHECK: an incident opens (no restart before 1000 misses).
  const before = await waitFor(
    "api missed and in an incident",
    () => {
      const p = d.monitor.getPeerStatus("api");
      return p && p.missed_count >= 1 && p.incident_id ? p : undefined;
    },
    20_000,
  );

  text = yaml("tier=web");
  const out = await d.reload();
  assert.ok(out.ok, JSON.stringify(out));
  assert.equal(out.summary?.peers_from_changed, true);
  assert.deepEqual(names(), ["api", "other"]);
  const kept = d.monitor.getPeerStatus("api");
  assert.ok((kept?.missed_count ?? 0) >= 1, `api kept its state: ${JSON.stringify(kept)}`);
  assert.equal(kept?.incident_id, before.incident_id, "api kept its incident");
  assert.notEqual(kept?.status, "HEALTHY");
  // Nothing was journaled (so nothing alerted) for the container removed or the one added.
  const about = d.store.journal(0, 1000).filter((e) => e.peer_name === "worker" || e.peer_name === "other");
  assert.deepEqual(about, []);
  const reloaded = d.store.journal(0, 1000).filter((e) => e.action === "config_reloaded");
  assert.match(reloaded.at(-1)?.reason ?? "", /peers_from changed/);

  // A configured peer taking a watched container's name: refused, nothing changed.
  const taken = await (async () => {
    text = `${yaml("tier=web")}peers:\n  - { name: api, probe: { tcp: { host: 127.0.0.1, port: 1 } }, restart: none, isolate: none }\n`;
    return d.reload();
  })();
  assert.equal(taken.ok, false);
  assert.match(JSON.stringify(taken), /already watched as peer \\"api\\"/);
  assert.equal(d.monitor.getPeerStatus("api")?.incident_id, before.incident_id);

  // An invalid peers_from: refused, nothing changed, the old label still followed.
  text = yaml("not a label");
  const bad = await d.reload();
  assert.equal(bad.ok, false);
  assert.match(JSON.stringify(bad), /KEY or KEY=VALUE/);
  engine.containers.push(box("l1", "late", { tier: "web", ...slow }));
  engine.event("start");
  await until("late watched under the label still in force", () => names().includes("late"), 20_000);
  assert.deepEqual(names(), ["api", "late", "other"]);
});

void test("reload problems over discovered peers: a name taken, an isolated container under a changing selection", () => {
  const cfg = (label: string, peers: string[]): DiscoveryConfig => ({
    peersFrom: { containers: { engine: "docker", label, timeoutMs: 1000 } },
    peers: peers.map((name) => ({ name })),
    mesh: { members: [{ name: "wd-b" }] },
    monitor: { policy: { intervalMs: 1000 } },
  });
  const watched = [
    { name: "static", status: "HEALTHY" },
    { name: "wd-b", status: "ISOLATED" },
    { name: "api", status: "HEALTHY" },
    { name: "cut", status: "ISOLATED" },
  ];
  const now = cfg("a=1", ["static"]);
  assert.deepEqual(discoveryReloadProblems(watched, now, cfg("a=1", ["static"])), []);
  assert.deepEqual(
    discoveryReloadProblems(watched, now, cfg("a=1", ["static", "api"])).map((p) => p.path),
    ["peers.api"],
  );
  const changed = discoveryReloadProblems(watched, now, cfg("b=2", ["static"]));
  assert.deepEqual(
    changed.map((p) => p.path),
    ["peers_from"],
    "only the discovered ISOLATED peer (not the mesh member) blocks a new selection",
  );
  assert.match(
    changed[0]?.message ?? "",
    /peer "cut" .* is ISOLATED .* release it first \(wdmesh release cut\)/,
  );
  assert.deepEqual(
    discoveryReloadProblems([{ name: "static", status: "ISOLATED" }], now, cfg("b=2", ["static"])),
    [],
  );
});
