// The HTTP API's server lifecycle on node:http: create, listen (refusing the read routes
// off loopback without a read token), the connection cap, malformed-request answers,
// and an idempotent close that ends event streams and leaves no timer behind. What is
// served is the route table (routes/table.ts) through one dispatch (router.ts). Every
// request is wrapped: a bad request or a throwing backend is answered (4xx/5xx) and
// logged, never crashes the process.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { API_DEFAULTS, NODE_DEFAULTS } from "../core/defaults.js";
import { isLoopbackHost } from "../core/loopback.js";
import { WatchdogError } from "../core/errors.js";
import { silentLogger, type Logger } from "../core/logger.js";
import { TokenSet } from "../http/auth.js";
import type { ApiBackend } from "./backend.js";
import { DashboardAssets } from "./dashboard-assets.js";
import { HostPolicy } from "./host-check.js";
import { fromWatchdogError, HttpError, sendError } from "../http/http-error.js";
import { pathOnly } from "./request.js";
import { dispatch, type ApiDeps } from "./router.js";
import { ROUTES } from "./routes/table.js";
import { SseHub } from "./sse.js";
import { RequestGate, type RequestGateOptions } from "./request-gate.js";

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
  /**
   * Fairness of the API toward probing: per-address request budget (default 200/s, burst
   * 400), pipelined requests per connection (16) and requests started per loop turn (16).
   */
  requestGate?: RequestGateOptions;
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
  /** Event streams open now, dropped so far for exceeding their budget, and the bytes they hold unsent. */
  sseStats(): { clients: number; dropped: number; bufferedBytes: number };
}

/** Default of node.max_connections: API sockets open at once. */
export const DEFAULT_MAX_API_CONNECTIONS = NODE_DEFAULTS.maxConnections;

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { backend } = opts;
  const log = opts.logger ?? silentLogger;
  const api: ApiDeps = {
    backend,
    hub: new SseHub(backend, {
      heartbeatMs: opts.sseHeartbeatMs ?? API_DEFAULTS.sseHeartbeatMs,
      maxClients: opts.maxSseClients ?? API_DEFAULTS.maxSseClients,
    }),
    dashboard: new DashboardAssets(opts.webDir),
    // The control token may also read.
    readTokens: new TokenSet([opts.readToken, opts.readToken ? opts.apiToken : undefined]),
    controlTokens: new TokenSet([opts.apiToken]),
    hosts: new HostPolicy(opts.hostnames),
    maxBodyBytes: opts.maxBodyBytes ?? API_DEFAULTS.maxBodyBytes,
  };
  const { hub, dashboard, hosts } = api;
  if (dashboard.problem) log.warn({ dir: dashboard.dir }, dashboard.problem);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    dispatch(ROUTES, api, req, res).then(
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
      (err: unknown) => answerFailure(log, req, res, err),
    );
  };

  // One request per connection at a time, a budget per address, a cap per loop turn.
  const gate = new RequestGate(opts.requestGate);
  const server = createServer(
    {
      requestTimeout: opts.requestTimeoutMs ?? API_DEFAULTS.requestTimeoutMs,
      headersTimeout: opts.headersTimeoutMs ?? API_DEFAULTS.headersTimeoutMs,
      // How often node checks the two deadlines above, ms.
      connectionsCheckingInterval: 1_000,
    },
    gate.wrap(handler),
  );
  server.keepAliveTimeout = API_DEFAULTS.keepAliveTimeoutMs;
  // Sockets past the cap are closed at accept: the node's file descriptors stay for its probes.
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_API_CONNECTIONS;
  let refused = 0;
  server.on("drop", () => {
    refused += 1;
  });
  let open = 0;
  server.on("connection", (socket: Socket) => {
    // An address flooding the API is cut at accept, before anything it sends is parsed.
    if (gate.blocked(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    gate.attach(socket);
    open += 1;
    socket.once("close", () => (open -= 1));
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(log, err, socket),
  );

  let closing: Promise<void> | undefined;
  return {
    handler,
    server,
    connections: () => open,
    sseStats: () => ({ clients: hub.size, dropped: hub.droppedClients, bufferedBytes: hub.bufferedBytes }),
    get refusedConnections() {
      return refused;
    },
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        if (!isLoopbackHost(host) && api.readTokens.empty && opts.publicReads !== true) {
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
        gate.stop();
        if (!server.listening) {
          resolve();
          return;
        }
        const grace = setTimeout(
          () => server.closeAllConnections(),
          opts.closeGraceMs ?? API_DEFAULTS.closeGraceMs,
        );
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

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Answers a request whose route threw: its HttpError, the mapped product error, or a logged 500. */
function answerFailure(log: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): void {
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
}

/** Answers a request node:http could not parse (or that timed out) on its raw socket, then closes it. */
function answerClientError(log: Logger, err: NodeJS.ErrnoException, socket: Socket): void {
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
}
