import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { request, type IncomingMessage } from "node:http";
import { startApi } from "./harness.js";
import { until } from "../helpers/wait.js";

/** Opens the stream with node:http and collects its text. */
function openStream(
  port: number,
  headers: Record<string, string> = {},
  path = "/v1/events/stream",
): Promise<{
  res: IncomingMessage;
  text: () => string;
  waitFor: (re: RegExp) => Promise<string>;
  close: () => void;
}> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let buf = "";
      const waiters: Array<{
        re: RegExp;
        ok: (s: string) => void;
        fail: (e: Error) => void;
        timer: NodeJS.Timeout;
      }> = [];
      const check = (): void => {
        for (const w of [...waiters]) {
          if (w.re.test(buf)) {
            clearTimeout(w.timer);
            waiters.splice(waiters.indexOf(w), 1);
            w.ok(buf);
          }
        }
      };
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        buf += d;
        check();
      });
      res.on("end", () => {
        for (const w of waiters.splice(0)) {
          clearTimeout(w.timer);
          w.fail(new Error(`stream ended before ${w.re}; got: ${buf}`));
        }
      });
      resolve({
        res,
        text: () => buf,
        waitFor: (re) =>
          new Promise((ok, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`timed out waiting for ${re}; got: ${buf}`)),
              10_000,
            );
            waiters.push({ re, ok, fail, timer });
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}

void describe("GET /v1/events/stream", () => {
  void test("a connected client receives new entries as id/data events, and is cleaned up when it leaves", async () => {
    const h = await startApi();
    try {
      const s = await openStream(h.port);
      assert.equal(s.res.statusCode, 200);
      assert.match(s.res.headers["content-type"] ?? "", /^text\/event-stream/);
      await s.waitFor(/: connected/);
      assert.equal(h.backend.listenerCount, 1);
      const e = h.backend.append({ peer_name: "sidecar", action: "alert", severity: "MEDIUM" });
      const text = await s.waitFor(/data: .*\n\n/);
      const m = /id: (\d+)\nevent: escalation\ndata: (.*)\n\n/.exec(text);
      assert.ok(m, text);
      assert.equal(Number(m[1]), e.seq);
      assert.deepEqual(JSON.parse(m[2]!), e);
      s.close();
      await until("the listener to be removed", () => h.backend.listenerCount === 0);
    } finally {
      await h.close();
    }
  });

  void test("?probes=1 adds probe results as id-less probe events; other clients get none", async () => {
    const h = await startApi();
    try {
      const plain = await openStream(h.port);
      const live = await openStream(h.port, {}, "/v1/events/stream?probes=1");
      await plain.waitFor(/: connected/);
      await live.waitFor(/: connected/);
      assert.equal(h.backend.probeListenerCount, 1, "one subscription for the hub");
      const beat = {
        peer: "sidecar",
        at: "2026-11-30T10:00:00.000Z",
        result: "miss" as const,
        duration_ms: 7,
      };
      h.backend.emitProbe(beat);
      const text = await live.waitFor(/event: probe\n/);
      const m = /(^|\n)event: probe\ndata: (.*)\n\n/.exec(text);
      assert.ok(m, text);
      assert.doesNotMatch(text, /id: /, "a probe event does not move Last-Event-ID");
      assert.deepEqual(JSON.parse(m[2]!), beat);
      const e = h.backend.append({ peer_name: "sidecar", action: "alert" });
      await plain.waitFor(new RegExp(`id: ${e.seq}\n`));
      await live.waitFor(new RegExp(`id: ${e.seq}\n`));
      assert.doesNotMatch(plain.text(), /event: probe/);
      plain.close();
      live.close();
      await until("the probe listener to be removed", () => h.backend.probeListenerCount === 0);
      const bad = await openStream(h.port, {}, "/v1/events/stream?probes=yes");
      assert.equal(bad.res.statusCode, 400);
      bad.close();
    } finally {
      await h.close();
    }
  });

  void test("Last-Event-ID replays missed entries once, then live ones follow in order", async () => {
    const h = await startApi();
    try {
      for (let i = 0; i < 4; i++) h.backend.append({ peer_name: "sidecar", action: "alert" });
      const s = await openStream(h.port, { "Last-Event-ID": "2" });
      await s.waitFor(/id: 4\n/);
      h.backend.append({ peer_name: "sidecar", action: "recovered" });
      const text = await s.waitFor(/id: 5\n/);
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((x) => Number(x[1]));
      assert.deepEqual(ids, [3, 4, 5]);
      s.close();
      const bad = await openStream(h.port, { "Last-Event-ID": "x" });
      assert.equal(bad.res.statusCode, 400);
      bad.close();
    } finally {
      await h.close();
    }
  });

  // The interval itself is tested on the fake clock (sse-budget.test.ts); this shows the
  // server's option reaches the stream.
  void test("sends a keep-alive comment at the server's heartbeat interval", async () => {
    const h = await startApi({ sseHeartbeatMs: 50 });
    try {
      const s = await openStream(h.port);
      await s.waitFor(/: keep-alive\n\n/);
      s.close();
    } finally {
      await h.close();
    }
  });

  void test("server close ends open streams and removes listeners", async () => {
    const h = await startApi();
    const s = await openStream(h.port);
    await s.waitFor(/: connected/);
    const ended = new Promise<void>((r) => s.res.on("end", () => r()));
    await h.close();
    await ended;
    assert.equal(h.backend.listenerCount, 0);
  });

  void test("more streams than allowed get 503", async () => {
    const h = await startApi({ maxSseClients: 1 });
    try {
      const a = await openStream(h.port);
      await a.waitFor(/: connected/);
      const b = await openStream(h.port);
      assert.equal(b.res.statusCode, 503);
      b.close();
      a.close();
    } finally {
      await h.close();
    }
  });
});
