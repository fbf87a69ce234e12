// What keeps a mesh at rest from waking often: a node writes its view streams at the
// interval's boundaries on the wall clock (where its members' heartbeats of those views
// aim), and its view round sleeps while every member streams, until the first stream
// would go quiet, or at once after one ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { FakeClock } from "../helpers/fake-clock.js";
import { buildView, signView, ViewPoller } from "../../src/mesh/views.js";
import { streamEvery, ViewStreams } from "../../src/mesh/view-stream.js";
import { systemClock, type Clock } from "../../src/schedule/clock.js";
import { peer } from "../helpers/fake-backend.js";
import { closeServer, listen } from "../helpers/listen.js";
import { until } from "../helpers/wait.js";
import { recordingLogger } from "../helpers/record-logger.js";

const KEY = "view-wakeups-test-key-0123456789";

test("serving: after the first view at once, a stream's views are written at the boundaries of its cadence", async () => {
  const clock = new FakeClock();
  await clock.advance(1_000 - (clock.now() % 1_000) + 300); // 300 ms past a boundary
  const writtenAt: number[] = [];
  const hub = new ViewStreams({
    clock,
    view: (nonce, requester, mark) => {
      writtenAt.push(clock.now());
      return { body: JSON.stringify({ nonce, requester, seq: mark.seq }), proof: "p" };
    },
  });
  const srv = await listen((_req, res) => {
    hub.open(res, "n", "wd-a", 1_000);
  });
  const reader = net.connect(Number(new URL(srv.url).port), "127.0.0.1");
  reader.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  reader.resume();
  try {
    await until("the stream is open", () => hub.size === 1);
    await clock.advance(700);
    await clock.advance(1_000);
    assert.deepEqual(
      writtenAt.map((t) => t % 1_000),
      [300, 0, 0],
      "the first view when asked, then one per boundary (not 1 s after the request)",
    );
  } finally {
    reader.destroy();
    hub.close();
    await closeServer(srv.server);
  }
});

test("reading: the round sleeps while every member streams, and comes at once when a stream ends", async () => {
  // A member serving real streams every 100 ms.
  const asked: string[] = [];
  const hub = new ViewStreams({
    clock: systemClock,
    view: (nonce, _requester, mark) => {
      const body = buildView("wd-b", [peer("agent", "HEALTHY")], Date.now(), nonce, { stream: mark });
      return { body, proof: signView(body, { key: KEY }) };
    },
  });
  const srv = await listen((req, res) => {
    asked.push(req.url ?? "");
    const u = new URL(req.url ?? "/", "http://x");
    const every = streamEvery(u.searchParams.get("every"));
    if (every !== undefined) hub.open(res, u.searchParams.get("nonce") ?? "", "wd-a", every);
    else res.writeHead(400).end();
  });
  // The poller's timers, counted: each is a wakeup of the process.
  let rounds = 0;
  /** When each round armed for longer than an interval (asleep while streaming) is due, epoch ms. */
  const longDues: number[] = [];
  const clock: Clock = {
    ...systemClock,
    setTimeout: (fn, ms) => {
      rounds++;
      if (ms > 150) longDues.push(Date.now() + ms);
      return systemClock.setTimeout(fn, ms);
    },
  };
  // interval 100 ms, timeout 5 s: a stream may go 5.2 s without a line.
  const poller = new ViewPoller({
    members: [{ name: "wd-b", url: srv.url }],
    key: KEY,
    intervalMs: 100,
    timeoutMs: 5_000,
    logger: recordingLogger().log,
    clock,
  });
  try {
    poller.start();
    await until("the member streams", () => poller.viaOf("wd-b") === "stream");
    const roundsBefore = rounds;
    const seqBefore = poller.latest("wd-b")!.receivedAt;
    await new Promise((r) => setTimeout(r, 1_500));
    // Fifteen intervals, about fifteen views; at most one round woke (the one armed before
    // the first line came), where polling each interval would have made fifteen.
    assert.ok(poller.latest("wd-b")!.receivedAt > seqBefore, "views kept coming");
    assert.ok(rounds - roundsBefore <= 2, `${rounds - roundsBefore} rounds in 15 intervals of streaming`);
    assert.equal(asked.length, 1);
    // Those rounds are due on the interval's boundaries, with the node's other timers.
    assert.ok(longDues.length >= 1, "a round slept while streaming");
    for (const due of longDues)
      assert.ok(due % 100 <= 2 || due % 100 >= 98, `round due ${due % 100} ms past a boundary`);
    // The member ends its streams: the next round asks again within an interval or so,
    // not at the 5.2 s quiet deadline it slept towards (3.7 s from now at the earliest).
    const endedAt = Date.now();
    hub.close();
    hub.start();
    await until("asked again", () => asked.length >= 2, 10_000);
    const after = Date.now() - endedAt;
    assert.ok(after < 2_500, `asked again ${after} ms after the stream ended`);
  } finally {
    await poller.stop();
    hub.close();
    await closeServer(srv.server);
  }
});
