// A client of the Docker Engine API over its unix socket, served alike by Docker
// (dockerd) and Podman (`podman system service`), so one client serves both engines.
//
// Plain node:http with `socketPath` rather than a library: the API needs only JSON
// requests and one long-lived line stream (GET /events), and node:http hands back the
// socket's own errno (ENOENT, ECONNREFUSED, EACCES) so each failure can be named for
// what it is. No request is retried here: the caller decides what a failure means.
//
// Nothing throws: every failure is an EngineFailure with a code and a message that says
// what happened, where (the socket) and what to do.
import { statSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";

/** The API version asked for: Docker 20.10+ and Podman 4+ both serve it. */
export const ENGINE_API_VERSION = "v1.41";

export type EngineFailureCode =
  | "WDM_ENGINE_SOCKET_MISSING"
  | "WDM_ENGINE_REFUSED"
  | "WDM_ENGINE_PERMISSION"
  | "WDM_ENGINE_TIMEOUT"
  | "WDM_CONTAINER_GONE"
  | "WDM_ENGINE_ERROR"
  | "WDM_ENGINE_ABORTED";

export interface EngineFailure {
  ok: false;
  code: EngineFailureCode;
  /** What happened, where and what to do. */
  error: string;
  /** HTTP status when the engine answered. */
  status?: number;
}

export interface EngineAnswer<T> {
  ok: true;
  status: number;
  body: T;
}

export type EngineResult<T> = EngineAnswer<T> | EngineFailure;

export interface EngineClientOptions {
  socket: string;
  /** Engine name for messages ("docker", "podman"). */
  engine: string;
  /** Deadline of each request, ms. */
  timeoutMs: number;
}

/** Most bytes of an answer read (inspect of a container is a few KB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** " (owner uid U, group gid G, mode 0MMM)" when the socket can be looked at, else "". */
function socketOwner(socket: string): string {
  try {
    const st = statSync(socket);
    return ` (owner uid ${st.uid}, group gid ${st.gid}, mode 0${(st.mode & 0o777).toString(8)})`;
  } catch {
    return "";
  }
}

function socketFailure(err: NodeJS.ErrnoException, o: EngineClientOptions): EngineFailure {
  const where = `${o.engine} engine socket ${o.socket}`;
  switch (err.code) {
    case "ENOENT":
      return {
        ok: false,
        code: "WDM_ENGINE_SOCKET_MISSING",
        error: `${where} does not exist: is the engine running (docker: systemctl start docker; podman: systemctl start podman.socket)? Check container.socket`,
      };
    case "ECONNREFUSED":
      return {
        ok: false,
        code: "WDM_ENGINE_REFUSED",
        error: `${where} refused the connection: the engine is not listening on it (restart the engine)`,
      };
    case "EACCES":
    case "EPERM":
      return {
        ok: false,
        code: "WDM_ENGINE_PERMISSION",
        error: `permission denied on the ${where}${socketOwner(o.socket)}: add the user this node runs as (uid ${process.getuid?.() ?? "?"}) to the socket's group, with the socket group read-write (mode 0660, as Docker's docker group), or run the node as root; whoever can use this socket is root on the host (see README, Containers)`,
      };
    default:
      return {
        ok: false,
        code: "WDM_ENGINE_ERROR",
        error: `${where}: ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " ").trim(),
      };
  }
}

function engineMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: unknown; cause?: unknown };
    if (typeof j.message === "string") return j.message;
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 300);
}

/** For tests: the failure a socket error maps to. */
export const socketFailureForTest = socketFailure;

export class EngineClient {
  constructor(readonly opts: EngineClientOptions) {}

  /** One JSON request. 404 is WDM_CONTAINER_GONE; any other status >= 400 is WDM_ENGINE_ERROR. */
  request<T = unknown>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    timeoutMs = this.opts.timeoutMs,
  ): Promise<EngineResult<T>> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (r: EngineResult<T>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath: this.opts.socket,
        // A fresh connection per request: a pooled one would outlive the socket's file
        // (an engine restarted, or its socket removed) and hide that from the probe.
        agent: false,
        method,
        path: `/${ENGINE_API_VERSION}${path}`,
        headers: {
          host: "engine",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      });
      const timer = setTimeout(() => {
        finish({
          ok: false,
          code: "WDM_ENGINE_TIMEOUT",
          error: `${this.opts.engine} engine (socket ${this.opts.socket}) did not answer ${method} ${path.split("?")[0] ?? path} within ${timeoutMs} ms; the engine may be overloaded or hung (raise container.timeout if it is only slow)`,
        });
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        finish({
          ok: false,
          code: "WDM_ENGINE_ABORTED",
          error: `${method} ${path} aborted: the node is stopping`,
        });
        req.destroy();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err: NodeJS.ErrnoException) => finish(socketFailure(err, this.opts)));
      req.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            finish({
              ok: false,
              code: "WDM_ENGINE_ERROR",
              error: `answer to ${method} ${path} larger than ${MAX_BODY_BYTES} bytes`,
            });
            return;
          }
          chunks.push(c);
        });
        res.on("error", (err: NodeJS.ErrnoException) => finish(socketFailure(err, this.opts)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            finish({
              ok: false,
              code: status === 404 ? "WDM_CONTAINER_GONE" : "WDM_ENGINE_ERROR",
              status,
              error: `${this.opts.engine} engine: ${method} ${path.split("?")[0] ?? path} → ${status}: ${engineMessage(text)}`,
            });
            return;
          }
          let parsed: unknown = undefined;
          if (text.trim() !== "") {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          finish({ ok: true, status, body: parsed as T });
        });
      });
      req.end(payload);
    });
  }

  /**
   * Opens a stream of JSON lines (GET /events). `onObject` gets each parsed line. Resolves
   * when the stream ends or fails (with why), or when `signal` aborts. No deadline: the
   * stream lives as long as the engine keeps it open.
   */
  stream(
    path: string,
    onObject: (o: unknown) => void,
    signal: AbortSignal,
    onOpen?: () => void,
  ): Promise<EngineFailure | { ok: true }> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (r: EngineFailure | { ok: true }): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const req = request({
        socketPath: this.opts.socket,
        agent: false,
        method: "GET",
        path: `/${ENGINE_API_VERSION}${path}`,
        headers: { host: "engine" },
      });
      const onAbort = (): void => {
        req.destroy();
        finish({ ok: true });
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err: NodeJS.ErrnoException) => finish(socketFailure(err, this.opts)));
      req.on("response", (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          res.resume();
          finish({
            ok: false,
            code: "WDM_ENGINE_ERROR",
            status: res.statusCode ?? 0,
            error: `${this.opts.engine} engine: GET ${path.split("?")[0] ?? path} → ${res.statusCode ?? 0}`,
          });
          return;
        }
        onOpen?.();
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          buf += c;
          if (buf.length > MAX_BODY_BYTES) buf = "";
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === "") continue;
            try {
              onObject(JSON.parse(line));
            } catch {
              // a line that is not JSON says nothing we can use
            }
          }
        });
        res.on("error", (err: NodeJS.ErrnoException) => finish(socketFailure(err, this.opts)));
        res.on("close", () =>
          finish({
            ok: false,
            code: "WDM_ENGINE_ERROR",
            error: `${this.opts.engine} engine closed its event stream (socket ${this.opts.socket})`,
          }),
        );
      });
      req.end();
    });
  }
}

/** Path segment of a container name or id (validated by the caller; encoded anyway). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
