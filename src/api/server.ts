// The node's HTTP API (the routes listed in README.md) on node:http. Every handler is wrapped: a bad request
// or a throwing backend is answered (4xx/5xx) and logged, never crashes the process.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { parseDuration } from "../core/duration.js";
import { silentLogger, type Logger } from "../logger.js";
import { nonceProblem } from "../mesh/routes.js";
import type { DeliveryState } from "../store/types.js";
import { bearerToken, requireToken, TokenSet } from "./auth.js";
import type { ApiBackend, DeliveryFilter } from "./backend.js";
import { readBody, readJsonObject } from "./body.js";
import { fromWatchdogError, HttpError, sendError, sendJson, sendJsonText } from "./http-error.js";
import { DashboardAssets, sendAsset } from "./dashboard-assets.js";
import { HostPolicy } from "./host-check.js";
import { isLoopbackHost } from "../core/loopback.js";
import { WatchdogError } from "../core/errors.js";
import { SseHub } from "./sse.js";

export interface ApiServerOptions {
  backend: ApiBackend;
  /** Bearer token for control routes (node.api_token). Without it control routes answer 403. */
  apiToken?: string;
  /** Bearer token for read routes (node.read_token). Without it read routes are open. */
  readToken?: string;
  logger?: Logger;
  /** Largest accepted request body, bytes. Default 16 384. */
  maxBodyBytes?: number;
  /** SSE keep-alive comment interval, ms. Default 15 000. */
  sseHeartbeatMs?: number;
  /** Most concurrent SSE streams. Default 64. */
  maxSseClients?: number;
  /** Deadline to receive a whole request (headers and body), ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** Deadline to receive the request headers, ms. Default 5 000. */
  headersTimeoutMs?: number;
  /** On close(), how long in-flight requests may finish before their sockets are cut, ms. Default 2 000. */
  closeGraceMs?: number;
  /** Directory holding the dashboard's files, read once here. Default: the package's web/. */
  webDir?: string;
  /** Host names accepted in the Host header besides the listen address and loopback names (node.hostnames). */
  hostnames?: readonly string[];
  /** Most simultaneous sockets; more are closed at accept. Default 1024. */
  maxConnections?: number;
  /**
   * Serve read routes without a token on a non-loopback address (node.public_reads).
   * Without it, listen() on such an address without readToken is refused.
   */
  publicReads?: boolean;
}

export interface ApiServer {
  /** Binds; port 0 picks a free port. Resolves with the bound address. */
  listen(opts: { host: string; port: number }): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, ends event streams, waits for in-flight requests (bounded). Idempotent. */
  close(): Promise<void>;
  /** The request handler, for mounting on another server. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly server: Server;
  /** Open sockets now. */
  connections(): number;
  /** Sockets refused so far because maxConnections were open. */
  readonly refusedConnections: number;
  /** Event streams open now, and dropped so far for exceeding their budget. */
  sseStats(): { clients: number; dropped: number };
}

export { MAX_NONCE_LENGTH } from "../mesh/routes.js";

/** Default of node.max_connections: API sockets open at once. */
export const DEFAULT_MAX_API_CONNECTIONS = 1024;
/** Most journal entries per GET /v1/events page. */
export const MAX_EVENTS_LIMIT = 1000;
/** Longest silence accepted, ms (365 days). */
export const MAX_SILENCE_MS = 365 * 86_400_000;

const GET = ["GET", "HEAD"];
const POST = ["POST"];

type Access = "open" | "read" | "control";
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
}
interface Route {
  pattern: RegExp;
  methods: string[];
  access: Access;
  handle(ctx: Ctx): Promise<void> | void;
}

const INT = /^\d{1,15}$/;

function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return dflt;
  if (!INT.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `query parameter ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`,
    );
  }
  return Number(raw);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `malformed percent-encoding in path segment ${JSON.stringify(s)}`,
    );
  }
}

function who(req: IncomingMessage): string {
  return `api ${req.socket.remoteAddress ?? "unknown"}`;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { backend } = opts;
  const log = opts.logger ?? silentLogger;
  const maxBody = opts.maxBodyBytes ?? 16_384;
  const control = new TokenSet([opts.apiToken]);
  // The control token may also read.
  const read = new TokenSet([opts.readToken, opts.readToken ? opts.apiToken : undefined]);
  const hub = new SseHub(backend, {
    heartbeatMs: opts.sseHeartbeatMs ?? 15_000,
    maxClients: opts.maxSseClients ?? 64,
  });
  const hosts = new HostPolicy(opts.hostnames);
  const dashboard = new DashboardAssets(opts.webDir);
  if (dashboard.problem) log.warn({ dir: dashboard.dir }, dashboard.problem);

  const peerOp = (ctx: Ctx): string => ctx.params[0] as string;

  const routes: Route[] = [
    {
      pattern: /^\/health$/,
      methods: GET,
      access: "open",
      handle: ({ res, url }) => {
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
      },
    },
    // The dashboard (web/). Open even with node.read_token: its files carry no node data,
    // and a browser cannot attach a bearer token to a page load; the page reads every
    // datum through the read routes below, sending the token the operator types in.
    {
      pattern: /^\/$/,
      methods: GET,
      access: "open",
      handle: ({ req, res }) => {
        const page = dashboard.index;
        if (!page)
          throw new HttpError(503, "WDM_UNAVAILABLE", dashboard.problem ?? "the dashboard is unavailable");
        sendAsset(req, res, page);
      },
    },
    {
      pattern: /^\/web\/([^/]+)$/,
      methods: GET,
      access: "open",
      handle: ({ req, res, params }) => {
        const name = params[0] as string;
        const asset = dashboard.asset(name);
        if (!asset) {
          throw new HttpError(
            404,
            "WDM_NOT_FOUND",
            `no dashboard asset ${JSON.stringify(name.slice(0, 100))}; the dashboard is served on GET /`,
          );
        }
        sendAsset(req, res, asset);
      },
    },
    {
      pattern: /^\/v1\/mesh$/,
      methods: GET,
      access: "read",
      handle: ({ res }) => {
        const text = backend.meshJson?.();
        if (text !== undefined) sendJsonText(res, 200, text);
        else sendJson(res, 200, backend.mesh());
      },
    },
    {
      pattern: /^\/v1\/mesh\/view$/,
      methods: GET,
      // Only a member that signs its request (see mesh/view-auth.ts), or a read_token holder.
      access: "open",
      handle: ({ req, res, url }) => {
        const nonce = url.searchParams.get("nonce") ?? undefined;
        const problem = nonce === undefined ? undefined : nonceProblem(nonce);
        if (problem) throw new HttpError(400, "WDM_BAD_REQUEST", problem);
        const token = bearerToken(req);
        if (token === undefined || read.empty || !read.accepts(token)) {
          const why = backend.viewRequestProblem?.(req.headers, nonce);
          if (why !== undefined) {
            throw new HttpError(401, "WDM_UNAUTHORIZED", why, {
              "WWW-Authenticate": 'Bearer realm="wdmesh"',
            });
          }
        }
        const view = backend.meshView?.(nonce);
        if (!view)
          throw new HttpError(
            404,
            "WDM_NOT_FOUND",
            "this node serves no mesh view: no mesh.key is configured",
          );
        sendJsonText(res, 200, view.body, view.proof === undefined ? {} : { "X-Wdmesh-Proof": view.proof });
      },
    },
    {
      pattern: /^\/v1\/peers\/([^/]+)\/history$/,
      methods: GET,
      access: "read",
      handle: (ctx) => {
        const name = peerOp(ctx);
        const probes = backend.history?.(name);
        if (!probes)
          throw new HttpError(
            404,
            "WDM_UNKNOWN_PEER",
            `no peer named ${JSON.stringify(name)}; GET /v1/mesh lists the peers`,
          );
        sendJson(ctx.res, 200, { peer: name, probes });
      },
    },
    {
      pattern: /^\/v1\/peers\/([^/]+)$/,
      methods: GET,
      access: "read",
      handle: (ctx) => {
        const name = peerOp(ctx);
        const p = backend.peer(name);
        if (!p)
          throw new HttpError(
            404,
            "WDM_UNKNOWN_PEER",
            `no peer named ${JSON.stringify(name)}; GET /v1/mesh lists the peers`,
          );
        sendJson(ctx.res, 200, p);
      },
    },
    {
      pattern: /^\/v1\/events$/,
      methods: GET,
      access: "read",
      handle: ({ res, url }) => {
        const after = intParam(url, "after", 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(url, "limit", 100, 1, MAX_EVENTS_LIMIT);
        sendJson(res, 200, backend.events(after, limit));
      },
    },
    {
      pattern: /^\/v1\/events\/stream$/,
      methods: GET,
      access: "read",
      handle: ({ req, res, url }) => {
        const last = req.headers["last-event-id"];
        let after: number | undefined;
        if (typeof last === "string" && last !== "") {
          if (!INT.test(last))
            throw new HttpError(400, "WDM_BAD_REQUEST", "Last-Event-ID must be a journal seq (integer)");
          after = Number(last);
        } else if (url.searchParams.has("after")) {
          after = intParam(url, "after", 0, 0, Number.MAX_SAFE_INTEGER);
        }
        const probes = url.searchParams.get("probes");
        if (probes !== null && probes !== "0" && probes !== "1")
          throw new HttpError(400, "WDM_BAD_REQUEST", "probes must be 1 (send probe results too) or 0");
        hub.open(req, res, after, { probes: probes === "1" });
      },
    },
    {
      pattern: /^\/v1\/peers\/([^/]+)\/(release|restart|check)$/,
      methods: POST,
      access: "control",
      handle: async (ctx) => {
        await readBody(ctx.req, maxBody); // ignored, but bounded
        const name = peerOp(ctx);
        const op = ctx.params[1];
        if (op === "check") {
          sendJson(ctx.res, 202, await backend.check(name));
        } else if (op === "release") {
          sendJson(ctx.res, 202, await backend.release(name, who(ctx.req)));
        } else {
          sendJson(ctx.res, 202, await backend.restart(name, who(ctx.req)));
        }
      },
    },
    {
      pattern: /^\/v1\/peers\/([^/]+)\/silence$/,
      methods: POST,
      access: "control",
      handle: async (ctx) => {
        const body = await readJsonObject(ctx.req, maxBody);
        const raw = body.for;
        if (typeof raw !== "string" && typeof raw !== "number") {
          throw new HttpError(
            400,
            "WDM_BAD_REQUEST",
            'body must be {"for": DURATION}, e.g. {"for":"1h"} ("0" ends a silence)',
          );
        }
        let ms: number;
        try {
          ms = parseDuration(raw, "for");
        } catch (e) {
          throw new HttpError(400, "WDM_BAD_REQUEST", (e as Error).message);
        }
        if (ms > MAX_SILENCE_MS) {
          throw new HttpError(
            400,
            "WDM_BAD_REQUEST",
            `for: ${JSON.stringify(raw)} is longer than the maximum of 365d`,
          );
        }
        sendJson(ctx.res, 202, backend.silence(peerOp(ctx), ms, who(ctx.req)));
      },
    },
    {
      pattern: /^\/v1\/deliveries$/,
      methods: GET,
      access: "read",
      handle: ({ res, url }) => {
        const filter: DeliveryFilter = { limit: intParam(url, "limit", 100, 1, 1000) };
        const state = url.searchParams.get("state");
        if (state !== null) {
          if (!["pending", "dead", "delivered"].includes(state)) {
            throw new HttpError(
              400,
              "WDM_BAD_REQUEST",
              `state=${JSON.stringify(state)}: use pending, dead or delivered`,
            );
          }
          filter.state = state as DeliveryState;
        }
        const sink = url.searchParams.get("sink");
        if (sink !== null && sink !== "") filter.sink = sink;
        sendJson(res, 200, backend.deliveries(filter));
      },
    },
    {
      pattern: /^\/v1\/alerts\/([^/]+)\/test$/,
      methods: POST,
      access: "control",
      handle: async (ctx) => {
        await readBody(ctx.req, maxBody);
        const sink = peerOp(ctx);
        const result = await backend.alertsTest(sink);
        if (!result)
          throw new HttpError(
            404,
            "WDM_UNKNOWN_SINK",
            `no alert sink named ${JSON.stringify(sink)}; see alerts: in the config`,
          );
        sendJson(ctx.res, result.ok ? 200 : 502, result);
      },
    },
    {
      pattern: /^\/v1\/reload$/,
      methods: POST,
      access: "control",
      handle: async ({ req, res }) => {
        await readBody(req, maxBody);
        if (!backend.reload)
          throw new HttpError(404, "WDM_NOT_FOUND", "this node cannot reload its configuration");
        const out = await backend.reload();
        sendJson(res, out.ok ? 200 : 400, out);
      },
    },
    {
      pattern: /^\/metrics$/,
      methods: GET,
      access: "read",
      handle: async ({ res }) => {
        const text = await backend.metricsText();
        res.writeHead(200, {
          "Content-Type": backend.metricsContentType ?? "text/plain; version=0.0.4; charset=utf-8",
          "Cache-Control": "no-store",
          "Content-Length": Buffer.byteLength(text),
        });
        res.end(text);
      },
    },
  ];

  function authorize(route: Route, req: IncomingMessage): void {
    if (route.access === "open") return;
    if (route.access === "control") {
      if (!hosts.allowsOrigin(req)) {
        throw new HttpError(
          403,
          "WDM_FORBIDDEN",
          "control requests from another site are refused: the Origin header is not this node",
        );
      }
      if (control.empty) {
        throw new HttpError(403, "WDM_FORBIDDEN", "control endpoints are disabled: set node.api_token");
      }
      requireToken(req, control);
      return;
    }
    if (!read.empty) requireToken(req, read);
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://wdmesh.invalid");
    } catch {
      throw new HttpError(400, "WDM_BAD_REQUEST", "malformed request target");
    }
    const path = url.pathname;
    // /health carries no data and is how members probe this node by whatever name they use.
    if (path !== "/health" && !hosts.allowsHost(req)) {
      throw new HttpError(
        421,
        "WDM_MISDIRECTED",
        "the Host header does not name this node; add the name to node.hostnames to reach it by that name",
      );
    }
    const allowed: string[] = [];
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (!route.methods.includes(req.method ?? "")) {
        allowed.push(...route.methods);
        continue;
      }
      authorize(route, req);
      const params = m.slice(1).map((s) => decodeSegment(s));
      await route.handle({ req, res, url, params });
      return;
    }
    if (allowed.length > 0) {
      throw new HttpError(
        405,
        "WDM_METHOD_NOT_ALLOWED",
        `${req.method ?? "?"} is not allowed on ${path}; use ${allowed.join(", ")}`,
        {
          Allow: allowed.join(", "),
        },
      );
    }
    throw new HttpError(
      404,
      "WDM_NOT_FOUND",
      `no route ${path}; the API routes are listed in the README (HTTP API) and GET /v1/mesh is the mesh view`,
    );
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    dispatch(req, res).then(
      () => {
        log.debug(
          {
            method: req.method,
            path: pathOnly(req.url),
            status: res.statusCode,
            ms: round(performance.now() - started),
          },
          "api request",
        );
      },
      (err: unknown) => {
        const httpErr = err instanceof HttpError ? err : fromWatchdogError(err);
        if (httpErr) {
          sendError(res, httpErr);
          if (httpErr.status >= 500) {
            log.warn(
              {
                method: req.method,
                path: pathOnly(req.url),
                status: httpErr.status,
                code: httpErr.code,
                err: httpErr.message,
              },
              "api request failed",
            );
          }
          if (httpErr.status === 413) req.resume();
          return;
        }
        log.error(
          {
            method: req.method,
            path: pathOnly(req.url),
            err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
          },
          "api handler threw",
        );
        sendError(
          res,
          new HttpError(
            500,
            "WDM_INTERNAL",
            `internal error while handling ${req.method ?? "?"} ${pathOnly(req.url)}; see the node's log`,
          ),
        );
      },
    );
  };

  const server = createServer(
    {
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      headersTimeout: opts.headersTimeoutMs ?? 5_000,
      // How often node checks the two deadlines above, ms.
      connectionsCheckingInterval: 1_000,
    },
    handler,
  );
  server.keepAliveTimeout = 5_000;
  // Sockets past the cap are closed at accept: the node's file descriptors stay for its probes.
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_API_CONNECTIONS;
  let refused = 0;
  server.on("drop", () => {
    refused += 1;
  });
  let open = 0;
  server.on("connection", (socket: Socket) => {
    open += 1;
    socket.once("close", () => (open -= 1));
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    log.debug({ code: err.code, err: err.message }, "api client error");
    if (!socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const status =
      err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const reason =
      status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
    const body = JSON.stringify({
      error: { code: "WDM_BAD_REQUEST", message: `malformed HTTP request (${err.code ?? "parse error"})` },
    });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  let closing: Promise<void> | undefined;
  return {
    handler,
    server,
    connections: () => open,
    sseStats: () => ({ clients: hub.size, dropped: hub.droppedClients }),
    get refusedConnections() {
      return refused;
    },
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        if (!isLoopbackHost(host) && read.empty && opts.publicReads !== true) {
          reject(
            new WatchdogError(
              "WDM_LISTEN",
              `refusing to serve the read routes on ${host} (not loopback) without a read token: set readToken (node.read_token), or publicReads (node.public_reads: true) to serve them to anyone`,
              "node.read_token",
            ),
          );
          return;
        }
        hosts.addListenHost(host);
        const onError = (e: Error): void => reject(e);
        server.once("error", onError);
        server.listen({ host, port }, () => {
          server.off("error", onError);
          const a = server.address() as AddressInfo;
          const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
          resolve({ host: a.address, port: a.port, url: `http://${h}:${a.port}` });
        });
      }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        hub.closeAll();
        if (!server.listening) {
          resolve();
          return;
        }
        const grace = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 2_000);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function pathOnly(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return (q < 0 ? u : u.slice(0, q)).slice(0, 200);
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
