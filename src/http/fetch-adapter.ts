// Serves node-style route handlers (`(req, res) => boolean`, as `monitor.mesh.routes`) to
// fetch-style servers: a web `Request` in, a `Response` out (Hono on any runtime, Bun, Deno,
// Workers-like hosts). The handlers read only the method, the URL and the headers, and write
// with writeHead/setHeader/end, so a small in-memory request and response stand in for
// node:http's; nothing here touches a socket.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

export type NodeRoutes = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the in-memory response collected. */
interface Collected {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

function nodeHeaders(h: Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  h.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

function fakeResponse(done: (c: Collected) => void): ServerResponse {
  const c: Collected = { status: 200, headers: {}, body: undefined };
  const setAll = (headers?: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(headers ?? {}))
      if (v !== undefined) c.headers[k.toLowerCase()] = String(v);
  };
  const res = {
    statusCode: 200,
    headersSent: false,
    writableEnded: false,
    setHeader(name: string, value: unknown) {
      c.headers[name.toLowerCase()] = String(value);
      return res;
    },
    getHeader(name: string) {
      return c.headers[name.toLowerCase()];
    },
    writeHead(status: number, a?: unknown, b?: unknown) {
      c.status = status;
      setAll((typeof a === "object" ? a : b) as Record<string, unknown> | undefined);
      res.headersSent = true;
      return res;
    },
    end(body?: unknown) {
      if (res.writableEnded) return res;
      if (!res.headersSent) c.status = res.statusCode;
      c.body = typeof body === "string" || body instanceof Uint8Array ? body : undefined;
      res.writableEnded = true;
      done(c);
      return res;
    },
  };
  return res as unknown as ServerResponse;
}

/**
 * Runs `routes` on a fetch `Request`. Resolves the `Response` when a route answered, or
 * null when `routes` does not serve the path (nothing was written).
 */
export function fetchRoutes(routes: NodeRoutes, request: Request): Promise<Response | null> {
  const url = new URL(request.url);
  const req = {
    method: request.method,
    url: `${url.pathname}${url.search}`,
    headers: nodeHeaders(request.headers),
    socket: {},
  } as unknown as IncomingMessage;
  return new Promise<Response | null>((resolve, reject) => {
    const res = fakeResponse((c) => {
      const body =
        request.method === "HEAD" || c.status === 204 || c.status === 304 ? null : (c.body ?? null);
      resolve(new Response(body, { status: c.status, headers: c.headers }));
    });
    try {
      if (!routes(req, res)) resolve(null);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** A 404 for a path the routes do not serve (the answer of `monitor.fetch`). */
export function notServed(request: Request): Response {
  const path = new URL(request.url).pathname;
  return Response.json(
    {
      error: {
        code: "WDM_NOT_FOUND",
        message: `${path} is not a watchdog route (/health, /v1/mesh, /v1/mesh/view)`,
      },
    },
    { status: 404 },
  );
}
