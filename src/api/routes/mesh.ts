// What other nodes and mesh readers ask this node: whether it is alive (GET /health,
// with a proof or signature for a member's nonce), its whole state (GET /v1/mesh) and
// its signed view of its peers (GET /v1/mesh/view, members and read-token holders only).
import { bearerToken } from "../auth.js";
import { HttpError, sendJson, sendJsonText } from "../http-error.js";
import { nonceProblem } from "../../mesh/routes.js";
import type { RouteContext } from "../router.js";

export function health({ res, url, api }: RouteContext): void {
  const { backend } = api;
  const nonce = url.searchParams.get("nonce");
  const body: Record<string, string> = { status: "ok", node: backend.node };
  if (nonce !== null) {
    const problem = nonceProblem(nonce);
    if (problem) throw new HttpError(400, "WDM_BAD_REQUEST", problem);
    const proof = backend.healthProof?.(nonce);
    if (proof !== undefined) body.proof = proof;
    const from = url.searchParams.get("from");
    if (from !== null && from.length <= 128) {
      const signature = backend.healthSignature?.(nonce, from);
      if (signature !== undefined) body.signature = signature;
    }
  }
  sendJson(res, 200, body);
}

export function meshState({ res, api }: RouteContext): void {
  const text = api.backend.meshJson?.();
  if (text !== undefined) sendJsonText(res, 200, text);
  else sendJson(res, 200, api.backend.mesh());
}

/** Open route: only a member that signs its request (see mesh/view-auth.ts), or a read_token holder. */
export function meshView({ req, res, url, api }: RouteContext): void {
  const { backend, readTokens } = api;
  const nonce = url.searchParams.get("nonce") ?? undefined;
  const problem = nonce === undefined ? undefined : nonceProblem(nonce);
  if (problem) throw new HttpError(400, "WDM_BAD_REQUEST", problem);
  const token = bearerToken(req);
  if (token === undefined || readTokens.empty || !readTokens.accepts(token)) {
    const why = backend.viewRequestProblem?.(req.headers, nonce);
    if (why !== undefined) {
      throw new HttpError(401, "WDM_UNAUTHORIZED", why, {
        "WWW-Authenticate": 'Bearer realm="wdmesh"',
      });
    }
  }
  const view = backend.meshView?.(nonce);
  if (!view)
    throw new HttpError(404, "WDM_NOT_FOUND", "this node serves no mesh view: no mesh.key is configured");
  sendJsonText(res, 200, view.body, view.proof === undefined ? {} : { "X-Wdmesh-Proof": view.proof });
}
