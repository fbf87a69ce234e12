#!/usr/bin/env node
// The mesh inside an Express app: monitor.mesh.routes() answers /health, /v1/mesh and
// /v1/mesh/view and returns false for every other path, which Express then routes.
//
//   NODE_NAME=agent-x PORT=9801 MESH_KEY_FILE=mesh.key \
//   MEMBERS='[{"name":"agent-y","url":"http://127.0.0.1:9802"}]' node examples/express/server.mjs
import { readFileSync } from "node:fs";
import express from "express";
import { Monitor } from "watchdog-mesh";

const monitor = new Monitor({
  selfName: process.env.NODE_NAME ?? "express-agent",
  interval: process.env.INTERVAL ?? "5s",
  timeout: process.env.TIMEOUT ?? "2s",
  mesh: {
    key: readFileSync(process.env.MESH_KEY_FILE ?? "mesh.key", "utf8").trim(),
    members: JSON.parse(process.env.MEMBERS ?? "[]"),
  },
});

const app = express();
// Mount the mesh first: it owns only its three paths.
app.use((req, res, next) => {
  if (!monitor.mesh.routes(req, res)) next();
});
// The agent's own routes.
app.get("/work", (_req, res) => {
  res.json({ done: true, by: monitor.selfName });
});

const server = app.listen(Number(process.env.PORT ?? 9801), "127.0.0.1", () => monitor.start());

process.once("SIGTERM", () => {
  server.close();
  server.closeIdleConnections();
  void monitor.stop();
});
