// Peers on one host:port never share a keep-alive socket: an endpoint that answers with
// an extra, unsolicited response leaves it on its own socket, and a sibling path on the
// same port that is dead is not judged by it. A raw loopback server crafts the answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { createProber } from "../../src/probe/index.js";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";

test("an unsolicited extra response on /chatty never answers a probe of /dead on the same port", async () => {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.on("data", (d) => {
      const path = /^GET (\S+)/.exec(d.toString("latin1"))?.[1] ?? "";
      // /chatty answers twice (the second one unsolicited); /dead never answers.
      if (!path.startsWith("/chatty")) return;
      s.write(OK);
      // A moment later: by then the socket may already carry the next request.
      setTimeout(() => !s.destroyed && s.write(OK), 30);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const prober = createProber({ maxConnectionsPerOrigin: 1 });
  const ac = new AbortController();
  try {
    let healthy = 0;
    for (let i = 0; i < 10; i++) {
      // Both at once, one connection per origin: /dead waits for /chatty's socket.
      const [chatty, dead] = await Promise.all([
        prober.probe({ http: { url: `http://127.0.0.1:${port}/chatty` } }, 500, ac.signal),
        prober.probe({ http: { url: `http://127.0.0.1:${port}/dead` } }, 300, ac.signal),
      ]);
      assert.equal(chatty.ok, true, chatty.error);
      if (dead.ok) healthy++;
    }
    assert.equal(healthy, 0, "the dead path never looked healthy");
  } finally {
    await prober.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
