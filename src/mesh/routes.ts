// The HTTP routes a mesh node serves to the other nodes and to readers, for agents that
// embed Monitor (monitor.routes / monitor.handler). The daemon serves the same routes
// through its API server (api/server.ts), with the same nonce rule and bodies.
//   GET /health[?nonce=N]  {"status":"ok","node"} (+ "proof" with a mesh key)
//   GET /v1/mesh/view      this node's signed view (404 without a mesh key)
//   GET /v1/mesh           {"self","node","peers","stats","members",...}
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { requireToken, type TokenSet } from "../api/auth.js";
import { HttpError, sendError, sendJson, sendJsonText } from "../api/http-error.js";
import { VIEW_PATH, VIEW_PROOF_HEADER } from "./views.js";

/** Longest `?nonce=` accepted on /health and /v1/mesh/view, characters. */
export const MAX_NONCE_LENGTH = 128;

/** Why `nonce` is not acceptable, or undefined when it is (1 to 128 printable ASCII characters). */
export function nonceProblem(nonce: string): string | undefined {
  return /^[\x21-\x7e]+$/.test(nonce) && nonce.length <= MAX_NONCE_LENGTH
    ? undefined
    : `nonce must be 1 to ${MAX_NONCE_LENGTH} printable ASCII characters`;
}

/** What the routes serve; implemented by Monitor. */
export interface MeshRouteSource {
  readonly selfName: string;
  /** Proof for /health?nonce=N, or undefined without a mesh key. */
  healthProof(nonce: string): string | undefined;
  /** The signed view, or undefined without a mesh key. */
  meshView(nonce?: string): { body: string; proof: string } | undefined;
  /** `signature` for /health?nonce=N&from=R with this node's own identity, or undefined. */
  healthSignature?(nonce: string, from: string): string | undefined;
  /** Why a view request is not from a member that signed it; undefined when it is. */
  viewRequestProblem?(headers: IncomingHttpHeaders, nonce: string | undefined): string | undefined;
  /** GET /v1/mesh, serialised. */
  meshJson(): string;
  /** Bearer tokens that reading /v1/mesh requires (read per request); open when absent or empty. */
  readonly readTokens?: TokenSet;
}

/**
 * True when the request may read (no read token configured, or it carries one);
 * otherwise answers 401 and returns false.
 */
export function readAllowed(src: MeshRouteSource, req: IncomingMessage, res: ServerResponse): boolean {
  const tokens = src.readTokens;
  if (!tokens || tokens.empty) return true;
  try {
    requireToken(req, tokens);
    return true;
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    sendError(res, err);
    return false;
  }
}

/** True when the request carries one of the read tokens (never when none is configured). */
function hasReadToken(src: MeshRouteSource, req: IncomingMessage): boolean {
  const tokens = src.readTokens;
  if (!tokens || tokens.empty) return false;
  try {
    requireToken(req, tokens);
    return true;
  } catch {
    return false;
  }
}

/** Paths served by meshRoutes(). */
export const MESH_PATHS: readonly string[] = ["/health", VIEW_PATH, "/v1/mesh"];

function badRequest(res: ServerResponse, message: string): void {
  sendJson(res, 400, { error: { code: "WDM_BAD_REQUEST", message } });
}

/**
 * A request handler that serves the mesh routes and returns true, or returns false
 * (without touching `res`) for any other path, so it can be mounted inside another
 * server: `if (!monitor.routes(req, res)) myApp(req, res)`.
 */
export function meshRoutes(src: MeshRouteSource): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    if (!MESH_PATHS.includes(path)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(
        res,
        405,
        {
          error: {
            code: "WDM_METHOD_NOT_ALLOWED",
            message: `${req.method ?? "?"} is not allowed on ${path}; use GET`,
          },
        },
        { Allow: "GET, HEAD" },
      );
      return true;
    }
    const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const nonce = params.get("nonce") ?? undefined;
    const problem = nonce === undefined ? undefined : nonceProblem(nonce);
    if (problem && path !== "/v1/mesh") {
      badRequest(res, problem);
      return true;
    }
    if (path === "/health") {
      const body: Record<string, string> = { status: "ok", node: src.selfName };
      const proof = nonce === undefined ? undefined : src.healthProof(nonce);
      if (proof !== undefined) body.proof = proof;
      const from = params.get("from");
      if (nonce !== undefined && from !== null && from.length <= 128) {
        const signature = src.healthSignature?.(nonce, from);
        if (signature !== undefined) body.signature = signature;
      }
      sendJson(res, 200, body);
    } else if (path === VIEW_PATH) {
      // Members sign their view requests; a reader with the read token may look too.
      const why = hasReadToken(src, req) ? undefined : src.viewRequestProblem?.(req.headers, nonce);
      if (why !== undefined) {
        sendJson(res, 401, { error: { code: "WDM_UNAUTHORIZED", message: why } });
        return true;
      }
      const view = src.meshView(nonce);
      if (!view) {
        sendJson(res, 404, {
          error: {
            code: "WDM_NOT_FOUND",
            message: "this node serves no mesh view: no mesh key is configured",
          },
        });
      } else {
        sendJsonText(res, 200, view.body, { [VIEW_PROOF_HEADER]: view.proof });
      }
    } else if (readAllowed(src, req, res)) {
      sendJsonText(res, 200, src.meshJson());
    }
    return true;
  };
}
