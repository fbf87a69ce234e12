// One route table and its dispatch, so every route the API serves is one line in
// src/api/routes/table.ts and every request goes through the same checks in the same
// order: the Host check (421), the path and method (404, 405 with Allow), the route's
// access (Origin and token for control routes, the read token for read routes), and
// only then the handler.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenSet } from "../http/auth.js";
import { requireToken } from "../http/auth.js";
import type { ApiBackend } from "./backend.js";
import type { DashboardAssets } from "./dashboard-assets.js";
import type { HostPolicy } from "./host-check.js";
import { HttpError } from "../http/http-error.js";
import { decodeSegment } from "./request.js";
import type { SseHub } from "./sse.js";

/** Who may call a route: anyone, a reader (read_token when one is set), or a control-token holder. */
export type Access = "open" | "read" | "control";

/** What the routes serve from, built once by the server. */
export interface ApiDeps {
  backend: ApiBackend;
  hub: SseHub;
  dashboard: DashboardAssets;
  /** Tokens that may read (read_token, and api_token when a read_token is set); empty: reads are open. */
  readTokens: TokenSet;
  /** Tokens that may call control routes (api_token); empty: control routes answer 403. */
  controlTokens: TokenSet;
  hosts: HostPolicy;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path's `:name` segments, percent-decoded. */
  params: Record<string, string>;
  api: ApiDeps;
}

export type Handler = (ctx: RouteContext) => Promise<void> | void;

export interface Route {
  methods: readonly string[];
  /** The path template, as written in the table: `/v1/peers/:name`. */
  path: string;
  pattern: RegExp;
  /** Names of the pattern's groups, in order. */
  names: readonly string[];
  access: Access;
  handle: Handler;
}

/**
 * A route from a path template: `/v1/peers/:name/history` matches one non-empty
 * segment per `:name`. GET routes also answer HEAD.
 */
export function route(method: "GET" | "POST", path: string, access: Access, handle: Handler): Route {
  const names: string[] = [];
  const source = path
    .split("/")
    .map((seg) => {
      if (!seg.startsWith(":")) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(seg.slice(1));
      return "([^/]+)";
    })
    .join("\\/");
  return {
    methods: method === "GET" ? ["GET", "HEAD"] : ["POST"],
    path,
    pattern: new RegExp(`^${source}$`),
    names,
    access,
    handle,
  };
}

function authorize(access: Access, req: IncomingMessage, api: ApiDeps): void {
  if (access === "open") return;
  if (access === "control") {
    if (!api.hosts.allowsOrigin(req)) {
      throw new HttpError(
        403,
        "WDM_FORBIDDEN",
        "control requests from another site are refused: the Origin header is not this node",
      );
    }
    if (api.controlTokens.empty) {
      throw new HttpError(403, "WDM_FORBIDDEN", "control endpoints are disabled: set node.api_token");
    }
    requireToken(req, api.controlTokens);
    return;
  }
  if (!api.readTokens.empty) requireToken(req, api.readTokens);
}

/** Finds the request's route and runs it; every refusal is thrown as an HttpError. */
export async function dispatch(
  routes: readonly Route[],
  api: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://wdmesh.invalid");
  } catch {
    throw new HttpError(400, "WDM_BAD_REQUEST", "malformed request target");
  }
  const path = url.pathname;
  // /health carries no data and is how members probe this node by whatever name they use.
  if (path !== "/health" && !api.hosts.allowsHost(req)) {
    throw new HttpError(
      421,
      "WDM_MISDIRECTED",
      "the Host header does not name this node; add the name to node.hostnames to reach it by that name",
    );
  }
  const allowed: string[] = [];
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (!r.methods.includes(req.method ?? "")) {
      allowed.push(...r.methods);
      continue;
    }
    authorize(r.access, req, api);
    const params: Record<string, string> = {};
    r.names.forEach((name, i) => (params[name] = decodeSegment(m[i + 1] as string)));
    await r.handle({ req, res, url, params, api });
    return;
  }
  if (allowed.length > 0) {
    throw new HttpError(
      405,
      "WDM_METHOD_NOT_ALLOWED",
      `${req.method ?? "?"} is not allowed on ${path}; use ${allowed.join(", ")}`,
      { Allow: allowed.join(", ") },
    );
  }
  throw new HttpError(
    404,
    "WDM_NOT_FOUND",
    `no route ${path}; the API routes are listed in the README (HTTP API) and GET /v1/mesh is the mesh view`,
  );
}
