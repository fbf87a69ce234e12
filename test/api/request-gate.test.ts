// The request gate on the real listener, with a fake clock for the budgets: an address over
// its budget is answered 429 with Retry-After (the shared error body) and its connection
// closed; more than a burst over it, its requests and new connections are cut unanswered
// until the budget is paid back; a connection pipelining deeper than the cap is closed
// unparsed, one within it is answered in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { rawExchange } from "../helpers/raw-request.js";
import { startApi } from "./harness.js";

const GET = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const answers = (raw: string): string[] => raw.match(/HTTP\/1\.1 \d{3}/g) ?? [];

test("over the budget: 429 with Retry-After and WDM_RATE_LIMITED; a flood is cut, even at accept, until paid back", async () => {
  let now = 0;
  const h = await startApi({ requestGate: { ratePerSecond: 10, burst: 4, now: () => now } });
  try {
    // The burst (4) is answered; the next 2 get 429 and a closed connection.
    for (let i = 0; i < 4; i++)
      assert.deepEqual(
        answers(await rawExchange(h.port, GET.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"))),
        ["HTTP/1.1 200"],
      );
    const limited = await rawExchange(h.port, GET);
    assert.match(limited, /^HTTP\/1\.1 429 /);
    assert.match(limited, /\r\nretry-after: 1\r\n/i);
    assert.match(limited, /\r\nconnection: close\r\n/i);
    assert.match(limited, /"code":"WDM_RATE_LIMITED"/);
    assert.deepEqual(answers(await rawExchange(h.port, GET)), ["HTTP/1.1 429"]);
    // Half a burst over, the address's new connections are closed at accept, unanswered.
    assert.equal(await rawExchange(h.port, GET), "");
    assert.equal(await rawExchange(h.port, GET), "");
    // The debt paid back (10/s): served again.
    now += 2_000;
    assert.deepEqual(
      answers(await rawExchange(h.port, GET.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"))),
      ["HTTP/1.1 200"],
    );
  } finally {
    await h.close();
  }
});

test("a connection that queues a burst over its address's budget is cut, nothing more parsed", async () => {
  const h = await startApi({ requestGate: { ratePerSecond: 10, burst: 4, now: () => 0 } });
  try {
    // Ten in one read (within the pipelining cap): the 8th is a burst over, the connection is cut.
    const got = answers(await rawExchange(h.port, GET.repeat(10)));
    assert.ok(got.length < 8, `answered ${got.length}: ${got.join(", ")}`);
  } finally {
    await h.close();
  }
});

test("pipelining: within the cap every request is answered in order; deeper, the connection is closed unparsed", async () => {
  const h = await startApi({ requestGate: { maxPipelined: 4 } });
  try {
    const last = GET.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    const four = await rawExchange(h.port, GET.repeat(3) + last);
    assert.deepEqual(answers(four), ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200"]);
    // Five heads in one read: closed before the parser sees them, nothing answered.
    assert.equal(await rawExchange(h.port, GET.repeat(4) + last), "");
    // The server keeps serving others.
    const ok = await fetch(`${h.url}/health`);
    assert.equal(ok.status, 200);
    // A keep-alive client sending one request at a time is never cut, however many it sends.
    const s = connect({ host: "127.0.0.1", port: h.port });
    let got = "";
    s.setEncoding("utf8");
    try {
      for (let i = 1; i <= 10; i++) {
        s.write(GET);
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`answer ${i} not within 10 s: ${got}`)), 10_000);
          const on = (d: string): void => {
            got += d;
            if (answers(got).length >= i) {
              clearTimeout(t);
              s.off("data", on);
              resolve();
            }
          };
          s.on("data", on);
        });
      }
      assert.equal(answers(got).length, 10);
    } finally {
      s.destroy();
    }
  } finally {
    await h.close();
  }
});
