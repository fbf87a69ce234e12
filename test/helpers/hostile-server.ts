// Loopback servers that misbehave in one specific way each, for probe tests. Every
// function starts a real server on 127.0.0.1 port 0 and returns {url, port, close};
// close() destroys every socket and timer, so tests exit by themselves.
import { spawn } from "node:child_process";
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { connect, createServer as createNetServer, type Server, type Socket } from "node:net";
import { heartbeatProof } from "../../src/probe/heartbeat-proof.js";

export interface TestServer {
  url: string;
  host: string;
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

function track(server: Server | HttpServer): { sockets: Set<Socket>; count: () => number } {
  const sockets = new Set<Socket>();
  let count = 0;
  server.on("connection", (s: Socket) => {
    count++;
    sockets.add(s);
    s.on("error", () => {}); // hostile servers see resets from the prober; they are expected
    s.once("close", () => sockets.delete(s));
  });
  return { sockets, count: () => count };
}

async function listen(server: Server | HttpServer, extraClose: () => void = () => {}): Promise<TestServer> {
  const t = track(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("test server has no TCP address");
  const port = addr.port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    connections: t.count,
    close: async () => {
      if (closed) return;
      closed = true;
      extraClose();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of t.sockets) s.destroy();
      await done;
    },
  };
}

/** An HTTP server running `handler` (keep-alive as Node does by default). */
export function httpServer(handler: RequestListener): Promise<TestServer> {
  return listen(createHttpServer(handler));
}

/** Answers every request with `status` and `body`. */
export function statusServer(status = 200, body = "ok"): Promise<TestServer> {
  return httpServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

/** A raw TCP server: `onSocket` decides what (not) to send. Timers it registers are cleared on close. */
export function rawServer(onSocket: (s: Socket, timers: Set<NodeJS.Timeout>) => void): Promise<TestServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createNetServer((s) => onSocket(s, timers));
  return listen(server, () => {
    for (const t of timers) clearInterval(t);
    timers.clear();
  });
}

/** Accepts connections and never writes a byte. */
export function silentServer(): Promise<TestServer> {
  return rawServer(() => {});
}

/** Sends `text` one byte per `everyMs` after the request arrives (slow loris). */
function dribble(s: Socket, timers: Set<NodeJS.Timeout>, text: string, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (i >= text.length || s.destroyed) {
      clearInterval(t);
      timers.delete(t);
      return;
    }
    s.write(text[i++] as string);
  }, everyMs);
  timers.add(t);
  s.once("close", () => {
    clearInterval(t);
    timers.delete(t);
  });
}

/** Sends the response head one byte a second. */
export function slowHeadersServer(everyMs = 1_000): Promise<TestServer> {
  return rawServer((s, timers) => {
    s.once("data", () => dribble(s, timers, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", everyMs));
  });
}

/** Sends a complete head at once, then the body one byte a second. */
export function slowBodyServer(everyMs = 1_000): Promise<TestServer> {
  return rawServer((s, timers) => {
    s.once("data", () => {
      s.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
      dribble(s, timers, "x".repeat(100), everyMs);
    });
  });
}

export interface HugeBodyServer extends TestServer {
  /** Body bytes written to sockets so far. */
  bytesSent(): number;
}

/**
 * Streams `totalBytes` of body generated on the fly (one reused 64 KiB chunk, honouring
 * backpressure), with or without a content-length header.
 */
export async function hugeBodyServer(totalBytes: number, withLength: boolean): Promise<HugeBodyServer> {
  const chunk = Buffer.alloc(65_536, 0x61);
  let sent = 0;
  const server = await httpServer((_req, res) => {
    const head: Record<string, string | number> = { "content-type": "application/octet-stream" };
    if (withLength) head["content-length"] = totalBytes;
    res.writeHead(200, head);
    let left = totalBytes;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once("drain", pump);
          return;
        }
      }
      if (left === 0) res.end();
    };
    res.on("error", () => {});
    pump();
  });
  return { ...server, bytesSent: () => sent };
}

/** Redirects every request to itself. */
export function redirectLoopServer(status = 301): Promise<TestServer> {
  return httpServer((req, res) => {
    res.writeHead(status, { location: req.url ?? "/", "content-length": 0 });
    res.end();
  });
}

/** Resets (TCP RST) every connection as soon as the request arrives. */
export function resetServer(): Promise<TestServer> {
  return rawServer((s) => {
    s.once("data", () => s.resetAndDestroy());
  });
}

/** Closes every connection (FIN) as soon as the request arrives, without answering. */
export function hangUpServer(): Promise<TestServer> {
  return rawServer((s) => {
    s.once("data", () => s.destroy());
  });
}

/** Answers with bytes that are not HTTP (an SSH banner), then closes. */
export function garbageServer(): Promise<TestServer> {
  return rawServer((s) => {
    s.once("data", () => s.end("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x01\x02garbage\r\n\r\n"));
  });
}

export type HeartbeatMode = "ok" | "wrong-proof" | "wrong-node" | "no-proof" | "plain-200" | "not-json";

/** A /health endpoint of a wdmesh node named `node` holding `key`, honest or not per `mode`. */
export function heartbeatServer(node: string, key: string, mode: HeartbeatMode = "ok"): Promise<TestServer> {
  return httpServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/health") {
      res.writeHead(404).end();
      return;
    }
    const nonce = u.searchParams.get("nonce") ?? "";
    let body: string;
    switch (mode) {
      case "ok":
        body = JSON.stringify({ status: "ok", node, proof: heartbeatProof(key, node, nonce) });
        break;
      case "wrong-proof":
        body = JSON.stringify({ status: "ok", node, proof: heartbeatProof(`${key}-other`, node, nonce) });
        break;
      case "wrong-node":
        body = JSON.stringify({
          status: "ok",
          node: "intruder",
          proof: heartbeatProof(key, "intruder", nonce),
        });
        break;
      case "no-proof":
        body = JSON.stringify({ status: "ok", node });
        break;
      case "plain-200":
        body = "OK";
        break;
      case "not-json":
        body = "<html>hello</html>";
        break;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

export interface Blackhole {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback port where TCP connect never completes: a listener in a child process with
 * backlog 1 is stopped (SIGSTOP) and its accept queue filled, so the kernel drops new
 * SYNs. Loopback only, no firewall rules.
 */
export async function blackholeListener(): Promise<Blackhole> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s=require("net").createServer(()=>{});s.listen({port:0,host:"127.0.0.1",backlog:1},()=>{process.stdout.write(s.address().port+"\\n")})`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
  });
  child.stdout.destroy();
  process.kill(child.pid as number, "SIGSTOP");
  const fillers: Socket[] = [];
  // Fill the accept queue until a connect hangs (the kernel completes a few handshakes).
  for (let i = 0; i < 16; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      fillers.push(s);
      s.on("error", () => {});
      const t = setTimeout(() => resolve(false), 200);
      s.once("connect", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!ok) break;
  }
  let closed = false;
  return {
    host: "127.0.0.1",
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const s of fillers) s.destroy();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = await silentServer();
  await s.close();
  return s.port;
}
