// A real loopback HTTP receiver for alert tests: records every POST (method, path,
// headers, raw body), answers what the test tells it to, and can be stopped and started
// again on the SAME port to simulate a receiver that is down.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../../src/alert/signature.js";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request was fully read, ms. */
  at: number;
}

/** True when `r` carries a valid X-Wdmesh-Timestamp / X-Wdmesh-Signature pair for `secret`. */
export function signedWith(secret: string, r: RecordedRequest | undefined): boolean {
  return verifySignature(
    secret,
    String(r?.headers["x-wdmesh-timestamp"]),
    r?.body ?? "",
    String(r?.headers["x-wdmesh-signature"]),
  );
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer only after this many ms (timeouts); cleared when the receiver stops. */
  delayMs?: number;
}

export class Receiver {
  readonly requests: RecordedRequest[] = [];
  /** Replies used in order, one per request; when empty, `fallback` answers. */
  replies: Reply[] = [];
  fallback: Reply = { status: 200, body: "ok" };
  private server: Server | null = null;
  private waiters: Array<() => void> = [];
  private timers = new Set<NodeJS.Timeout>();
  port = 0;

  /** Starts listening on 127.0.0.1 (port 0: a free one, then kept for restarts). */
  async start(port = this.port): Promise<this> {
    if (this.server) return this;
    const server = createServer((req, res) => {
      // Alerts are POSTs. Anything else is a stranger (e.g. another test's health probe
      // that found this port while it was "down" and free): answered 404, not recorded.
      if (req.method !== "POST") {
        req.resume();
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: performance.now(),
        });
        const reply = this.replies.shift() ?? this.fallback;
        const answer = (): void => {
          if (res.destroyed) return;
          res.writeHead(reply.status, reply.headers ?? {});
          res.end(reply.body ?? "");
        };
        if (reply.delayMs) {
          const t = setTimeout(() => {
            this.timers.delete(t);
            answer();
          }, reply.delayMs);
          this.timers.add(t);
        } else answer();
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops open connections; the port is kept for start(). */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get listening(): boolean {
    return this.server !== null;
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once `n` requests were recorded; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 20_000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `receiver got ${this.requests.length} requests, expected ${n} within ${timeoutMs} ms`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.requests.slice(0, n);
  }
}
