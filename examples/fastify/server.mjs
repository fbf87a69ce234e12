#!/usr/bin/env node
// The mesh inside a Fastify app: an onRequest hook hands the raw request to
// monitor.mesh.routes(), which answers /health, /v1/mesh and /v1/mesh/view; the reply is
// then hijacked (Fastify sends nothing more). Every other path goes on to Fastify.
//
//   NODE_NAME=agent-y PORT=9802 MESH_KEY_FILE=mesh.key \
//   MEMBERS='[{"name":"agent-x","url":"http://127.0.0.1:9801"}]' node examples/fastify/server.mjs
import { readFileSync } from "node:fs";
import Fastify from "fastify";
import { Monitor } from "watchdog-mesh";

const monitor = new Monitor({
  selfName: process.env.NODE_NAME ?? "fastify-agent",
  interval: process.env.INTERVAL ?? "5s",
  timeout: process.env.TIMEOUT ?? "2s",
  mesh: {
    key: readFileSync(process.env.MESH_KEY_FILE ?? "mesh.key", "utf8").trim(),
    members: JSON.parse(process.env.MEMBERS ?? "[]"),
  },
});

const app = Fastify();
app.addHook("onRequest", async (request, reply) => {
  if (monitor.mesh.routes(request.raw, reply.raw)) reply.hijack();
});
// The agent's own routes.
app.get("/work", async () => ({ done: true, by: monitor.selfName }));

await app.listen({ port: Number(process.env.PORT ?? 9802), host: "127.0.0.1" });
monitor.start();

process.once("SIGTERM", () => {
  void app.close();
  void monitor.stop();
});
