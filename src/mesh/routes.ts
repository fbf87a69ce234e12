// The HTTP routes a mesh node serves to the other nodes and to readers, for agents that
// embed Monitor (monitor.mesh.routes / monitor.mesh.handler). The daemon's API server serves the
// same two answers (sendHealth, sendView below) from api/routes/mesh.ts.
//   GET /health[?nonce=N]  {"status":"ok","node"} (+ "proof" with a mesh key)
//   GET /v1/mesh/view      this node's signed view (404 without a mesh key)
//   GET /v1/mesh           {"self","node","peers","stats","members",...}
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { carriesToken, requireToken, type TokenSet } from "../http/auth.js";
import { HttpError, sendError, sendJson, sendJsonText } from "../http/http-error.js";
import { MEMBER_ROUTES } from "./member-url.js";
import { FROM_HEADER } from "./view-auth.js";
import { VIEW_PATH, VIEW_PROOF_HEADER } from "./views.js";
import { streamEvery, VIEW_STREAM_PARAM } from "./view-stream.js";

/** Longest `?nonce=` accepted on /health and /v1/mesh/view, characters. */
export const MAX_NONCE_LENGTH = 128;

/** Why `nonce` is not acceptable, or undefined when it is (1 to 128 printable ASCII characters). */
export function nonceProblem(nonce: string): string | undefined {
  return /^[\x21-\x7e]+$/.test(nonce) && nonce.length <= MAX_NONCE_LENGTH
    ? undefined
    : `nonce must be 1 to ${MAX_NONCE_LENGTH} printable ASCII characters`;
}

/** What GET /health and GET /v1/mesh/view answer from: Monitor, and the daemon's API backend. */
export interface MeshAnswers {
  /** Proof for /health?nonce=N[&from=R] (bound to R with `from`), or undefined without a mesh key. */
  healthProof?(nonce: string, from?: string): string | undefined;
  /** `signature` for /health?nonce=N&from=R with this node's own identity, or undefined. */
  healthSignature?(nonce: string, from: string): string | undefined;
  /** Why a view request is not from a member that signed it; undefined when it is. */
  viewRequestProblem?(headers: IncomingHttpHeaders, nonce: string | undefined): string | undefined;
  /** This node's wall clock, epoch ms: the Date header of a refused view request (a skew hint). */
  clockNow?(): number;
  /** The signed view (made for `requester`, the member that signed the request), or undefined without a mesh key. */
  meshView?(nonce?: string, requester?: string): { body: string; proof?: string } | undefined;
  /**
   * Answers `res` with a stream of signed views for `requester`, one every `everyMs`; false
   * (res untouched) when it cannot stream, and one view is answered instead.
   */
  streamView?(res: ServerResponse, nonce: string, requester: string, everyMs: number): boolean;
  /** Why this node is not fit to answer "ok" (its state store cannot commit), or undefined. */
  healthProblem?(): string | undefined;
}

/** The query's nonce, or undefined when absent; a malformed one is a 400. */
function queryNonce(query: URLSearchParams): string | undefined {
  const nonce = query.get("nonce") ?? undefined;
  const problem = nonce === undefined ? undefined : nonceProblem(nonce);
  if (problem) throw new HttpError(400, "WDM_BAD_REQUEST", problem);
  return nonce;
}

/**
 * GET /health: `{"status":"ok","node"}`, plus `proof` for `?nonce=` with a mesh key and
 * `signature` for `?nonce=&from=` with an identity. Throws HttpError 400 for a bad nonce.
 */
export function sendHealth(
  res: ServerResponse,
  node: string,
  src: MeshAnswers,
  query: URLSearchParams,
): void {
  const nonce = queryNonce(query);
  // A node that cannot record what it does is alive but not fit to act: it says so.
  const problem = src.healthProblem?.();
  if (problem !== undefined) {
    sendJson(res, 503, { status: "degraded", node, reason: problem });
    return;
  }
  const body: Record<string, string> = { status: "ok", node };
  if (nonce !== undefined) {
    const from = query.get("from");
    const bound = from !== null && from.length <= 128;
    const proof = src.healthProof?.(nonce, bound ? from : undefined);
    if (proof !== undefined) body.proof = proof;
    if (bound) {
      const signature = src.healthSignature?.(nonce, from);
      if (signature !== undefined) body.signature = signature;
    }
  }
  sendJson(res, 200, body);
}

/**
 * GET /v1/mesh/view: the signed view, only for a member that signed its request or a
 * reader holding a read token (`reader`). Throws HttpError 400 (nonce), 401 (unsigned),
 * 404 (no mesh key).
 */
export function sendView(
  req: IncomingMessage,
  res: ServerResponse,
  src: MeshAnswers,
  query: URLSearchParams,
  reader: boolean,
): void {
  const nonce = queryNonce(query);
  const why = reader ? undefined : src.viewRequestProblem?.(req.headers, nonce);
  if (why !== undefined) {
    // The Date header (this node's clock) lets a member with a skewed clock learn by how much.
    const date: Record<string, string> =
      src.clockNow === undefined ? {} : { Date: new Date(src.clockNow()).toUTCString() };
    throw new HttpError(401, "WDM_UNAUTHORIZED", why, {
      "WWW-Authenticate": 'Bearer realm="wdmesh"',
      ...date,
    });
  }
  const from = req.headers[FROM_HEADER];
  // A member that signed its request may ask for a stream of views (`&stream=1&every=MS`).
  if (
    !reader &&
    req.method === "GET" &&
    nonce !== undefined &&
    typeof from === "string" &&
    query.get(VIEW_STREAM_PARAM) === "1"
  ) {
    const every = streamEvery(query.get("every"));
    if (every !== undefined && src.streamView?.(res, nonce, from, every) === true) return;
  }
  const view = src.meshView?.(nonce, reader || typeof from !== "string" ? undefined : from);
  if (!view) {
    throw new HttpError(404, "WDM_NOT_FOUND", "this node serves no mesh view: no mesh.key is configured");
  }
  sendJsonText(res, 200, view.body, view.proof === undefined ? {} : { [VIEW_PROOF_HEADER]: view.proof });
}

/** What the routes serve; implemented by MeshNode (monitor.mesh). */
export interface MeshRouteSource {
  readonly selfName: string;
  /** Proof for /health?nonce=N[&from=R], or undefined without a mesh key. */
  healthProof(nonce: string, from?: string): string | undefined;
  /** The signed view (made for `requester`), or undefined without a mesh key. */
  meshView(nonce?: string, requester?: string): { body: string; proof: string } | undefined;
  /** Answers `res` with a stream of views for `requester` (see MeshAnswers.streamView). */
  streamView?(res: ServerResponse, nonce: string, requester: string, everyMs: number): boolean;
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

/** Paths served by meshRoutes(). */
export const MESH_PATHS: readonly string[] = MEMBER_ROUTES;

/**
 * A request handler that serves the mesh routes and returns true, or returns false
 * (without touching `res`) for any other path, so it can be mounted inside another
 * server: `if (!monitor.mesh.routes(req, res)) myApp(req, res)`.
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
    const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    try {
      if (path === "/health") sendHealth(res, src.selfName, src, query);
      else if (path === VIEW_PATH)
        sendView(req, res, src, query, src.readTokens !== undefined && carriesToken(req, src.readTokens));
      else if (readAllowed(src, req, res)) sendJsonText(res, 200, src.meshJson());
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendError(res, err);
    }
    return true;
  };
}
