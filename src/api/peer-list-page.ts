// GET /: a minimal server-rendered page listing the peers (no scripts). The full
// dashboard replaces it.
import type { MeshView } from "./backend.js";

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c] as string);

export function peerListPage(view: MeshView): string {
  const rows = view.peers
    .map(
      (p) =>
        `<tr class="s-${escapeHtml(p.status.toLowerCase())}"><td>${escapeHtml(p.name)}</td><td>${escapeHtml(p.status)}</td>` +
        `<td>${p.missed_count}</td><td>${p.restart_count}</td><td>${escapeHtml(p.last_seen ?? "never")}</td>` +
        `<td>${p.last_seen === null ? "-" : `${p.response_time_ms} ms`}</td><td>${escapeHtml(p.last_error ?? "")}</td></tr>`,
    )
    .join("\n");
  const title = `wdmesh — ${escapeHtml(view.node)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
.s-healthy td:nth-child(2){color:#080}.s-degraded td:nth-child(2){color:#a60}.s-offline td:nth-child(2),.s-isolated td:nth-child(2){color:#c00;font-weight:bold}</style>
</head><body><h1>${title}</h1>
<p>${view.peers.length} peer(s); checks ${view.stats.total_checks}, misses ${view.stats.total_misses}, restarts ${view.stats.total_restarts}, isolations ${view.stats.total_isolations}. JSON: <a href="/v1/mesh">/v1/mesh</a></p>
<table><thead><tr><th>peer</th><th>status</th><th>misses</th><th>restarts</th><th>last seen</th><th>latency</th><th>last error</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
