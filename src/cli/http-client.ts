// The CLI's client of the node API (GET /v1/..., POST /v1/peers/NAME/...), on node:http with no connection reuse,
// so the process exits as soon as a command is done.
import { CLI_DEFAULTS, NODE_DEFAULTS } from "../core/defaults.js";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { CliError, EXIT, UsageError } from "./cli-error.js";
import type { CliIO, OptionSpec, Parsed } from "./command.js";
import { str } from "./command.js";
import { withoutTrailingSlash } from "../core/base-url.js";

export const DEFAULT_URL = `http://${NODE_DEFAULTS.listen}`;

export const URL_OPTION: OptionSpec = {
  name: "url",
  type: "string",
  arg: "URL",
  help: `node API base URL (default $WDMESH_URL or ${DEFAULT_URL})`,
};
export const TOKEN_OPTION: OptionSpec = {
  name: "token",
  type: "string",
  arg: "TOKEN",
  help: "API bearer token (default $WDMESH_API_TOKEN; prefer the variable: arguments show in ps)",
};

export interface ApiTarget {
  base: URL;
  token: string | undefined;
  /** Deadline for one request, ms. */
  timeoutMs: number;
}

export function apiTarget(
  args: Parsed,
  io: CliIO,
  timeoutMs: number = CLI_DEFAULTS.requestTimeoutMs,
): ApiTarget {
  const raw = str(args, "url") ?? io.env.WDMESH_URL ?? DEFAULT_URL;
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(raw)} is not a URL`, `use e.g. ${DEFAULT_URL}`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new UsageError(
      `--url ${JSON.stringify(raw)} must be http:// or https://`,
      `use e.g. ${DEFAULT_URL}`,
    );
  }
  const token = str(args, "token") ?? (io.env.WDMESH_API_TOKEN || undefined);
  return { base, token, timeoutMs };
}

function endpoint(t: ApiTarget, path: string): URL {
  const u = new URL(t.base.href);
  u.pathname = `${withoutTrailingSlash(u.pathname)}${path.split("?")[0] ?? ""}`;
  const q = path.indexOf("?");
  u.search = q < 0 ? "" : path.slice(q);
  return u;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

function openRequest(
  t: ApiTarget,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
  timeoutMs: number | null,
): Promise<IncomingMessage> {
  const url = endpoint(t, path);
  const h: Record<string, string> = { Accept: "application/json", Connection: "close", ...headers };
  if (t.token) h.Authorization = `Bearer ${t.token}`;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    h["Content-Length"] = String(Buffer.byteLength(body));
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: h, agent: false, signal }, resolve);
    if (timeoutMs !== null) {
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" })),
      );
    }
    req.on("error", (e: NodeJS.ErrnoException) => reject(unreachable(t, e)));
    req.end(body);
  });
}

function unreachable(t: ApiTarget, e: NodeJS.ErrnoException): Error {
  if (e.name === "AbortError") return e;
  const why =
    e.code === "ECONNREFUSED"
      ? "connection refused"
      : e.code === "ENOTFOUND"
        ? "host not found"
        : e.code === "ETIMEDOUT"
          ? e.message
          : `${e.code ?? ""} ${e.message}`.trim();
  return new CliError(
    EXIT.FAILURE,
    `cannot reach the wdmesh API at ${t.base.origin}: ${why}`,
    "is `wdmesh run` running there? pass --url URL or set WDMESH_URL",
  );
}

function readAll(res: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) res.destroy(new Error(`answer larger than ${limit} bytes`));
      else chunks.push(c);
    });
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/** One request; non-2xx answers become CliErrors carrying the server's reason. */
export async function apiCall(
  t: ApiTarget,
  method: "GET" | "POST",
  path: string,
  json?: unknown,
  /** Non-2xx statuses whose body the caller handles itself. */
  accept: readonly number[] = [],
): Promise<ApiResponse> {
  const res = await openRequest(
    t,
    method,
    path,
    {},
    json === undefined ? undefined : JSON.stringify(json),
    undefined,
    t.timeoutMs,
  );
  const text = await readAll(res);
  const status = res.statusCode ?? 0;
  let body: unknown = text;
  if ((res.headers["content-type"] ?? "").startsWith("application/json")) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(
        EXIT.FAILURE,
        `the API at ${t.base.origin} answered ${method} ${path} with invalid JSON`,
      );
    }
  }
  if ((status >= 200 && status < 300) || accept.includes(status)) return { status, body };
  throw httpFailure(t, method, path, status, body);
}

function httpFailure(t: ApiTarget, method: string, path: string, status: number, body: unknown): CliError {
  const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
  const reason =
    e?.message ?? (typeof body === "string" && body.length < 300 ? body.trim() : `status ${status}`);
  if (status === 401) {
    const what = t.token ? "token rejected" : `the API at ${t.base.origin} requires a token`;
    return new CliError(EXIT.USAGE, `${what}: pass --token or set WDMESH_API_TOKEN`);
  }
  // The request as given was wrong (bad argument, unknown peer, control disabled): usage.
  const usage = status === 400 || status === 403 || status === 404 || status === 405 || status === 413;
  return new CliError(usage ? EXIT.USAGE : EXIT.FAILURE, `${method} ${path}: ${reason} (HTTP ${status})`);
}

/** Opens GET /v1/events/stream; yields parsed entries until the stream ends or `signal` aborts. */
export async function* eventStream(
  t: ApiTarget,
  lastSeq: number | undefined,
  signal: AbortSignal,
): AsyncGenerator<unknown> {
  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (lastSeq !== undefined) headers["Last-Event-ID"] = String(lastSeq);
  let res: IncomingMessage;
  try {
    res = await openRequest(t, "GET", "/v1/events/stream", headers, undefined, signal, null);
  } catch (e) {
    if ((e as Error).name === "AbortError") return;
    throw e;
  }
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const text = await readAll(res);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    throw httpFailure(t, "GET", "/v1/events/stream", status, body);
  }
  res.setEncoding("utf8");
  let buf = "";
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      let idx: number;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data !== "") yield JSON.parse(data);
      }
    }
  } catch (e) {
    if ((e as Error).name === "AbortError" || signal.aborted) return;
    throw new CliError(EXIT.FAILURE, `event stream from ${t.base.origin} broke: ${(e as Error).message}`);
  }
}
