// Streamed views against real loopback servers: a member's views come on one open request,
// each dated no later than its request plus the member's own elapsed time; a replayed or
// foreign line cuts the stream; a member that cannot stream (an older node, a fetch-style
// host, something that buffers) is polled instead; a huge line costs one line's worth; the
// serving side writes every stream of one cadence from one timer, keeps one stream per
// member, and streams only to a member that signed its request.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import { FakeClock } from "../helpers/fake-clock.js";
import { buildView, signView, ViewPoller } from "../../src/mesh/views.js";
import { streamEvery, streamLine, ViewStreams, type StreamMark } from "../../src/mesh/view-stream.js";
import { systemClock } from "../../src/schedule/clock.js";
import { Monitor } from "../../src/index.js";
import { signViewRequest } from "../../src/mesh/view-auth.js";
import { peer } from "../helpers/fake-backend.js";
import { closeServer, listen } from "../helpers/listen.js";
import { until } from "../helpers/wait.js";
import { recordingLogger } from "../helpers/record-logger.js";

const KEY = "view-stream-test-key-0123456789";
const signer = { key: KEY };

/** A signed view line of `node` for `nonce`, at `mark` (tweak edits the body before signing). */
function line(
  node: string,
  nonce: string,
  mark: StreamMark,
  tweak: (b: string) => string = (b) => b,
): string {
  const body = tweak(buildView(node, [peer("agent", "HEALTHY")], Date.now(), nonce, { stream: mark }));
  return streamLine(signView(body, signer), body);
}

/** Answers one signed view of `node` for `nonce`, as a node that does not stream. */
function answerOneView(res: ServerResponse, node: string, nonce: string): void {
  const body = buildView(node, [peer("agent", "HEALTHY")], Date.now(), nonce);
  res.writeHead(200, { "content-type": "application/json", "x-wdmesh-proof": signView(body, signer) });
  res.end(body);
}

/** A member serving real view streams from a ViewStreams hub; counts the requests and how they asked. */
async function streamingMember(node: string) {
  const asked: string[] = [];
  const hub = new ViewStreams({
    clock: systemClock,
    view: (nonce, _requester, mark) => {
      const body = buildView(node, [peer("agent", "HEALTHY")], Date.now(), nonce, { stream: mark });
      return { body, proof: signView(body, signer) };
    },
  });
  const srv = await listen((req, res) => {
    asked.push(req.url ?? "");
    const u = new URL(req.url ?? "/", "http://x");
    const nonce = u.searchParams.get("nonce") ?? "";
    const every = streamEvery(u.searchParams.get("every"));
    if (u.searchParams.get("stream") === "1" && every !== undefined && hub.open(res, nonce, "wd-a", every))
      return;
    answerOneView(res, node, nonce);
  });
  return { ...srv, hub, asked };
}

function pollerOf(url: string, log = recordingLogger().log, intervalMs = 100, maxBytes?: number): ViewPoller {
  return new ViewPoller({
    members: [{ name: "wd-b", url }],
    key: KEY,
    intervalMs,
    timeoutMs: 1_000,
    logger: log,
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
}

test("a member's views come on one open stream, each newer than the last, dated from the request", async () => {
  const m = await streamingMember("wd-b");
  const poller = pollerOf(m.url);
  try {
    const t0 = Date.now();
    poller.start();
    await until("a first view", () => poller.latest("wd-b") !== undefined);
    const first = poller.latest("wd-b")!;
    assert.equal(poller.streaming, 1);
    // Five more views, every 100 ms, on the same request.
    await until("five more views", () => poller.latest("wd-b")!.receivedAt >= first.receivedAt + 400);
    assert.equal(m.asked.length, 1, `asked ${m.asked.length} times: ${m.asked.join(", ")}`);
    assert.match(m.asked[0]!, /[?&]stream=1&every=100$/);
    assert.equal(m.hub.size, 1);
    // A view is dated no earlier than the request it came on, and never after now.
    assert.ok(first.receivedAt >= t0 && poller.latest("wd-b")!.receivedAt <= Date.now());
    assert.equal(poller.latest("wd-b")!.peers.get("agent")?.status, "HEALTHY");
  } finally {
    await poller.stop();
    await closeServer(m.server);
  }
  // Stopping closed the stream: the member holds none.
  await until("the member's stream ended", () => m.hub.size === 0);
});

test("a line held back on the way is dated by the member's elapsed time, not by its arrival", async () => {
  let hold: ((s: string) => void) | undefined;
  const srv = await listen((req, res) => {
    const nonce = new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "";
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.write(line("wd-b", nonce, { seq: 1, elapsedMs: 0 }));
    // The second view says it was made at elapsed 50 ms, and arrives much later.
    hold = (s) => res.write(s);
    setTimeout(() => hold?.(line("wd-b", nonce, { seq: 2, elapsedMs: 50 })), 800);
  });
  const poller = pollerOf(srv.url, recordingLogger().log, 10_000);
  try {
    poller.start();
    await until("the first view", () => poller.latest("wd-b") !== undefined);
    const first = poller.latest("wd-b")!.receivedAt;
    await until("the held view", () => poller.latest("wd-b")!.receivedAt !== first);
    const held = poller.latest("wd-b")!.receivedAt;
    assert.ok(held - first <= 60, `dated ${held - first} ms after the first view, though made 50 ms after`);
  } finally {
    await poller.stop();
    await closeServer(srv.server);
  }
});

for (const [what, second, expected] of [
  ["a replayed line (same seq)", (n: string) => line("wd-b", n, { seq: 1, elapsedMs: 10 }), /seq 1 after 1/],
  [
    "a line for another request's nonce",
    () => line("wd-b", "someone-else", { seq: 2, elapsedMs: 10 }),
    /nonce/,
  ],
  [
    "a line with a bad proof",
    (n: string) =>
      line("wd-b", n, { seq: 2, elapsedMs: 10 }).replace(/^[0-9a-f]/, (c) => (c === "0" ? "1" : "0")),
    /proof/,
  ],
  [
    "a line that is not a view stream's (no seq)",
    (n: string) => {
      const body = buildView("wd-b", [], Date.now(), n);
      return streamLine(signView(body, signer), body);
    },
    /seq/,
  ],
] as const) {
  test(`${what} cuts the stream and is said`, async () => {
    let requests = 0;
    const srv = await listen((req, res) => {
      requests++;
      const nonce = new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "";
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(line("wd-b", nonce, { seq: 1, elapsedMs: 0 }));
      if (requests === 1) res.write(second(nonce));
    });
    const { lines, log } = recordingLogger();
    const poller = pollerOf(srv.url, log);
    try {
      poller.start();
      await until("the bad line is said", () =>
        lines.some((l) => l.level === "warn" && expected.test(String(l.obj.error))),
      );
      // The next round asked again, on a new stream.
      await until("a new stream", () => requests >= 2);
      assert.ok(poller.latest("wd-b") !== undefined);
    } finally {
      await poller.stop();
      await closeServer(srv.server);
    }
  });
}

test("a member that answers one view (an older node) is polled: every round one request, no stream asked", async () => {
  const asked: string[] = [];
  const srv = await listen((req, res) => {
    asked.push(req.url ?? "");
    answerOneView(res, "wd-b", new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "");
  });
  const { lines, log } = recordingLogger();
  const poller = pollerOf(srv.url, log);
  try {
    poller.start();
    await until("four requests", () => asked.length >= 4);
    assert.match(asked[0]!, /stream=1/);
    for (const u of asked.slice(1)) assert.doesNotMatch(u, /stream=/);
    assert.equal(poller.streaming, 0);
    assert.equal(poller.viaOf("wd-b"), "poll");
    assert.ok(poller.latest("wd-b") !== undefined);
    assert.deepEqual(
      lines.filter((l) => l.level === "warn"),
      [],
    );
  } finally {
    await poller.stop();
    await closeServer(srv.server);
  }
});

test("a stream that carries nothing (something between buffers it) is given up for polling", async () => {
  const asked: string[] = [];
  const srv = await listen((req, res) => {
    asked.push(req.url ?? "");
    const nonce = new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "";
    if (/stream=1/.test(req.url ?? "")) {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write("");
      return; // never a line
    }
    answerOneView(res, "wd-b", nonce);
  });
  const { lines, log } = recordingLogger();
  const poller = new ViewPoller({
    members: [{ name: "wd-b", url: srv.url }],
    key: KEY,
    intervalMs: 100,
    timeoutMs: 300,
    logger: log,
  });
  try {
    poller.start();
    await until("a polled view", () => poller.latest("wd-b") !== undefined);
    assert.ok(
      lines.some((l) => l.level === "warn" && /timeout after 300 ms \(body\)/.test(String(l.obj.error))),
    );
    await until("two polls", () => asked.filter((u) => !/stream=/.test(u)).length >= 2);
    assert.equal(asked.filter((u) => /stream=1/.test(u)).length, 1);
  } finally {
    await poller.stop();
    await closeServer(srv.server);
  }
});

test("a line without end larger than the cap cuts the stream after one line's worth", async () => {
  let sent = 0;
  const srv = await listen((req, res) => {
    const nonce = new URL(req.url ?? "/", "http://x").searchParams.get("nonce") ?? "";
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.write(line("wd-b", nonce, { seq: 1, elapsedMs: 0 }));
    const chunk = Buffer.alloc(16_384, 0x61);
    const pump = (): void => {
      while (sent < 64 * 1024 * 1024 && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
  const { lines, log } = recordingLogger();
  const poller = pollerOf(srv.url, log, 10_000, 65_536);
  try {
    poller.start();
    await until("the cut is said", () =>
      lines.some((l) => l.level === "warn" && /larger than 65536 bytes/.test(String(l.obj.error))),
    );
    assert.ok(sent < 16 * 1024 * 1024, `the member could send ${sent} bytes`);
    assert.ok(poller.latest("wd-b") !== undefined);
  } finally {
    await poller.stop();
    await closeServer(srv.server);
  }
});

test("serving: one stream per member (a new one ends the old), ended by close(), refused until start()", async () => {
  const m = await streamingMember("wd-b");
  const p1 = pollerOf(m.url);
  const p2 = pollerOf(m.url);
  try {
    p1.start();
    await until("p1 streams", () => p1.streaming === 1 && m.hub.size === 1);
    // Both ask as "wd-a" (the hub keys streams by the signed requester): the second replaces the first.
    p2.start();
    await until("p2 streams", () => p2.streaming === 1);
    await until("p1's stream ended", () => p1.streaming === 0 || m.asked.length > 2);
    assert.equal(m.hub.size, 1);
  } finally {
    await p1.stop();
    await p2.stop();
  }
  m.hub.close();
  assert.equal(m.hub.size, 0);
  const p3 = pollerOf(m.url);
  try {
    p3.start();
    await until("p3 got a view", () => p3.latest("wd-b") !== undefined);
    // A closed hub answers one view: the member is polled.
    assert.equal(p3.streaming, 0);
  } finally {
    await p3.stop();
    await closeServer(m.server);
  }
});

test("every: a whole number of ms from 100 ms to 1 h, else no stream", () => {
  assert.equal(streamEvery("1000"), 1000);
  assert.equal(streamEvery("100"), 100);
  for (const bad of [null, "", "99", "1e3", "-5", "3600001", "10.5", "99999999999"])
    assert.equal(streamEvery(bad), undefined, String(bad));
});

test("the routes stream only to a member that signed its request; a reader and a fetch-style host get one view", async () => {
  const readToken = "read-token-for-stream-tests-0123";
  const b = new Monitor({
    selfName: "wd-b",
    interval: 200,
    timeout: 150,
    readToken,
    mesh: { key: KEY, members: [{ name: "wd-a", url: "http://127.0.0.1:9" }] },
  });
  const srv = await listen((req: IncomingMessage, res: ServerResponse) => b.mesh.handler(req, res));
  const a = new Monitor({
    selfName: "wd-a",
    interval: 200,
    timeout: 150,
    mesh: { key: KEY, members: [{ name: "wd-b", url: srv.url }] },
  });
  try {
    b.start();
    a.start();
    await until(
      "wd-a streams wd-b's views",
      () => a.mesh.poller?.streaming === 1 && b.mesh.viewStreamCount === 1,
    );
    await until(
      "wd-a says wd-b's views come on a stream",
      () => a.mesh.memberViews()[0]?.view_via === "stream",
    );
    assert.match(a.mesh.meshJson(), /"view_via":"stream"/);
    // A reader asking for a stream gets one view.
    const r = await fetch(`${srv.url}/v1/mesh/view?nonce=n1&stream=1&every=200`, {
      headers: { authorization: `Bearer ${readToken}` },
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(JSON.parse(await r.text()).node, "wd-b");
    // Unsigned: refused, as any view request.
    const u = await fetch(`${srv.url}/v1/mesh/view?nonce=n2&stream=1&every=200`);
    assert.equal(u.status, 401);
    await u.text();
    assert.equal(b.mesh.viewStreamCount, 1);
    // A fetch-style host (no socket to keep open) answers a member's stream request with one view.
    const signed = signViewRequest({ key: KEY }, "wd-a", "wd-b", "n3", Date.now());
    const f = await b.fetch(
      new Request("http://wd-b/v1/mesh/view?nonce=n3&stream=1&every=200", { headers: signed }),
    );
    assert.equal(f.status, 200);
    assert.match(f.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(JSON.parse(await f.text()).nonce, "n3");
    assert.equal(b.mesh.viewStreamCount, 1);
  } finally {
    await a.stop();
    await b.stop();
    await closeServer(srv.server);
  }
  assert.equal(b.mesh.viewStreamCount, 0);
});

test("serving: a member that stops reading is cut once its unsent views pass the cap; the other stream goes on", async () => {
  const clock = new FakeClock();
  const big = "x".repeat(32_768);
  const hub = new ViewStreams({
    clock,
    maxBufferedBytes: 65_536,
    view: (nonce, requester, mark) => {
      const body = JSON.stringify({ node: "wd-b", nonce, for: requester, seq: mark.seq, pad: big });
      return { body, proof: "p" };
    },
  });
  const closed: string[] = [];
  const srv = await listen((req, res) => {
    const requester = new URL(req.url ?? "/", "http://x").searchParams.get("as") ?? "";
    res.on("close", () => closed.push(requester));
    hub.open(res, "n", requester, 100);
  });
  const port = Number(new URL(srv.url).port);
  // wd-x asks and never reads; wd-y reads everything.
  const stuck = net.connect(port, "127.0.0.1");
  stuck.write("GET /?as=wd-x HTTP/1.1\r\nHost: x\r\n\r\n");
  stuck.pause();
  let readByY = 0;
  const reader = net.connect(port, "127.0.0.1");
  reader.write("GET /?as=wd-y HTTP/1.1\r\nHost: x\r\n\r\n");
  reader.on("data", (d: Buffer) => (readByY += d.length));
  try {
    await until("both streams open", () => hub.size === 2);
    let ticks = 0;
    while (!closed.includes("wd-x") && ticks < 3_000) {
      await clock.advance(100);
      await new Promise((r) => setImmediate(r));
      ticks++;
    }
    assert.ok(closed.includes("wd-x"), `wd-x was not cut after ${ticks} views`);
    assert.ok(!closed.includes("wd-y"));
    assert.equal(hub.size, 1);
    const before = readByY;
    await clock.advance(100);
    await until("wd-y still gets views", () => readByY > before);
  } finally {
    stuck.destroy();
    reader.destroy();
    hub.close();
    await closeServer(srv.server);
  }
  assert.equal(hub.size, 0);
});
