#!/usr/bin/env node
// A small service agent that embeds the watchdog: it does its own work (GET /work),
// watches its sibling agents and the shared workers, restarts them through systemd,
// and is itself watched by its siblings. The agents form one mesh, so a failed
// worker is restarted by exactly one of them, and only after a majority of the
// configured nodes sees it fail.
//
//   node examples/embedded-agent/agent.mjs agent.json
//
// agent.json (durations as "1s" / ms numbers; see README "Library"):
//   {
//     "name": "agent-a",                       this agent's node name
//     "listen": "127.0.0.1:9801",              its HTTP server (its work and the mesh routes)
//     "key_file": "/etc/agents/mesh.key",      shared mesh key (>= 16 characters); never logged
//     "interval": "1s", "timeout": "800ms", "missed_before_restart": 3,
//     "confirm": "majority",
//     "self_health": { "loopDelayP99Ms": 200, "latenessP99Ms": 250, "windowMs": 10000 },  (optional)
//     "siblings": [ { "name": "agent-b", "url": "http://127.0.0.1:9802", "unit": "agent-b.service" } ],
//     "workers":  [ { "name": "worker-1", "url": "http://127.0.0.1:9811/health", "unit": "worker-1.service" } ],
//     "daemons":  [ { "name": "wd-d", "url": "http://127.0.0.1:9760" } ]
//   }
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
