// What other nodes and mesh readers ask this node: whether it is alive (GET /health,
// with a proof or signature for a member's nonce), its whole state (GET /v1/mesh) and
// its signed view of its peers (GET /v1/mesh/view, members and read-token holders only).
import { carriesToken } from "../../http/auth.js";
import { sendJson, sendJsonText } from "../../http/http-error.js";
import { sendHealth, sendView } from "../../mesh/routes.js";
import type { RouteContext } from "../router.js";

export function health({ res, url, api }: RouteContext): void {
  sendHealth(res, api.backend.node, api.backend, url.searchParams);
}

export function meshState({ res, api }: RouteContext): void {
  const text = api.backend.meshJson?.();
  if (text !== undefined) sendJsonText(res, 200, text);
  else sendJson(res, 200, api.backend.mesh());
}

/** Open route: only a member that signs its request (see mesh/view-auth.ts), or a read_token holder. */
export function meshView({ req, res, url, api }: RouteContext): void {
  sendView(req, res, api.backend, url.searchParams, carriesToken(req, api.readTokens));
}
