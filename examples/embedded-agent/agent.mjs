#!/usr/bin/env node
// A small service agent that embeds the watchdog: it does its own work (GET /work),
// watches its sibling agents and the shared workers, restarts them through systemd,
// and is itself watched by its siblings. The agents form one mesh, so a failed
// worker is restarted by exactly one of them, and only after a majority of the
// configured nodes sees it fail.
//
//   node examples/embedded-agent/agent.mjs agent.json
//
// agent.json: see agent.example.json beside this file (valid JSON; durations as "1s" or ms
// numbers, see README "Library"): name, listen, key_file (the shared mesh key, >= 16
// characters, never logged), interval, timeout, missed_before_restart, confirm, self_health
// (optional), storm (optional: { fraction, minPeers } or false), siblings [{ name, url, unit }], workers [{ name, url, unit }], daemons [{ name, url }].
//
// Quorum: with confirm "majority", a restart needs a majority of ALL configured nodes (this
// agent + siblings + daemons) to see the failure. With two agents that majority is 2 of 2:
// when agent-b's process is killed, agent-b cannot vote, so agent-a alone holds the restart
// ("held: 1 of 2 nodes confirm the failure") and alerts instead. Siblings restart each other
// with three or more nodes (three agents, or two agents and a wdmesh daemon in "daemons"),
// or with "confirm": "any" (one node's view is enough; a node with a broken path to a sibling
// will then restart it).
// A sibling is a mesh member (its heartbeat is proven with the key) and, under its unit
// name, a peer that is restarted through systemd. `daemons` are wdmesh nodes of the same
// mesh (members only: systemd restarts them itself). Escalations are printed as JSON lines.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Monitor } from "watchdog-mesh";

const config = JSON.parse(readFileSync(process.argv[2] ?? "agent.json", "utf8"));
const key = readFileSync(config.key_file, "utf8").trim();
const siblings = config.siblings ?? [];
const workers = config.workers ?? [];
const daemons = config.daemons ?? [];

const log = (level) => (obj, msg) =>
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), node: config.name, msg, ...obj })}\n`,
  );

const monitor = new Monitor({
  selfName: config.name,
  interval: config.interval ?? "5s",
  timeout: config.timeout ?? "2s",
  missedBeforeRestart: config.missed_before_restart ?? 3,
  restartsBeforeIsolate: config.restarts_before_isolate ?? 3,
  startupGrace: config.startup_grace ?? config.interval ?? "5s",
  restartBackoff: { initial: config.interval ?? "5s", max: "1m" },
  // Own-overload detection (the node holds remediation while its loop is stalled).
  ...(config.self_health ? { selfHealth: config.self_health } : {}),
  ...(config.storm !== undefined ? { storm: config.storm } : {}),
  logger: { debug() {}, info: log("info"), warn: log("warn"), error: log("error") },
  mesh: {
    key,
    confirm: config.confirm ?? "majority",
    members: [...siblings, ...daemons].map(({ name, url }) => ({ name, url })),
  },
});

// The siblings' services and the workers: restarted through systemd by exactly one agent.
for (const s of siblings) {
  monitor.registerPeer({
    name: s.unit,
    probe: { http: { url: `${s.url.replace(/\/+$/, "")}/health` } },
    restart: { systemd: { unit: s.unit } },
    isolate: "none",
  });
}
for (const w of workers) {
  monitor.registerPeer({
    name: w.name,
    probe: { http: { url: w.url } },
    // Or any restart/isolate spec of the library (e.g. { command: { argv: [...] } }).
    restart: w.restart ?? { systemd: { unit: w.unit } },
    isolate: w.isolate ?? "none",
  });
}

monitor.onEscalation((a) =>
  process.stdout.write(
    `${JSON.stringify({ escalation: a.action, peer: a.peer_name, node: a.node, severity: a.severity, reason: a.reason, result: a.result })}\n`,
  ),
);

// The agent's own server: its work, and the mesh routes (/health, /v1/mesh, /v1/mesh/view).
const server = createServer((req, res) => {
  if (monitor.mesh.routes(req, res)) return;
  if (req.url === "/work") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ done: true }));
    return;
  }
  res.writeHead(404).end();
});
const [host, port] = config.listen.split(/:(?=\d+$)/);
server.listen(Number(port), host, () => {
  monitor.start();
  log("info")({ listen: config.listen }, "agent running");
});

const shutdown = () => {
  server.close();
  server.closeIdleConnections();
  monitor.stop().then(() => log("info")({}, "agent stopped"));
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
