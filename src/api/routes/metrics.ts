// GET /metrics: the node's Prometheus text exposition (the registry itself is ../metrics.ts).
import type { RouteContext } from "../router.js";

export async function metrics({ res, api }: RouteContext): Promise<void> {
  const text = await api.backend.metricsText();
  res.writeHead(200, {
    "Content-Type": api.backend.metricsContentType ?? "text/plain; version=0.0.4; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}
