// A stand-in service agent for `wdmesh demo`: serves GET /health on loopback.
//   node agent.js --name sidecar --port 9770 [--mode ok|broken]
// mode broken answers 503, like an agent whose backend is gone.
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { name: { type: "string" }, port: { type: "string" }, mode: { type: "string", default: "ok" } },
});
const name = values.name ?? "agent";
const broken = values.mode === "broken";
const server = createServer((req, res) => {
  if (req.url?.startsWith("/health") !== true) {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.stringify(
    broken ? { status: "error", error: "backend unreachable" } : { status: "ok", agent: name },
  );
  res.writeHead(broken ? 503 : 200, { "content-type": "application/json" }).end(body);
});
server.listen(Number(values.port), "127.0.0.1");
const stop = (): void => void server.close();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
