import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "undici";
import { deliver, parseRetryAfter } from "../../src/alert/deliver.js";
import { Redactor, safeOrigin } from "../../src/core/redact.js";
import { Receiver } from "../helpers/receiver.js";

describe("deliver classifies the outcome of one POST (loopback receiver)", () => {
  const rx = new Receiver();
  const agent = new Agent();
  before(async () => {
    await rx.start();
  });
  after(async () => {
    await rx.stop();
    await agent.close();
  });

  const post = (path = "/hook", timeoutMs = 2000, headers: Record<string, string> = {}) =>
    deliver(
      { url: rx.url(path), headers: { "Content-Type": "application/json", ...headers }, body: '{"a":1}' },
      { timeoutMs, dispatcher: agent },
    );

  for (const status of [200, 201, 204]) {
    test(`${status} → delivered`, async () => {
      rx.replies.push({ status });
      assert.deepEqual(await post(), { kind: "delivered", status });
    });
  }

  test("a secret straddling the cut of a rejecting answer is redacted whole, then cut", async () => {
    const secret = "routing-key-0123456789abcdef";
    const r = new Redactor([secret]);
    // 188 characters, then the 28-character secret across the 200-character cut.
    rx.replies.push({ status: 400, body: `${"e".repeat(188)}${secret}${"tail ".repeat(40)}` });
    const out = await deliver(
      { url: rx.url("/hook"), headers: { "Content-Type": "application/json" }, body: "{}" },
      { timeoutMs: 2000, dispatcher: agent, redact: (t) => r.text(t) },
    );
    assert.ok(out.kind === "dead");
    for (let n = 4; n <= secret.length; n++)
      assert.ok(
        !out.error.includes(secret.slice(0, n)),
        `no ${n}-character head of the secret: ${out.error}`,
      );
    assert.match(out.error, /\*\*\*/);
  });

  for (const status of [400, 401, 404, 410, 422]) {
    test(`${status} → dead with the status and the start of the body`, async () => {
      rx.replies.push({ status, body: `bad thing ${"x".repeat(500)}` });
      const out = await post();
      assert.equal(out.kind, "dead");
      assert.ok(out.kind === "dead");
      assert.equal(out.status, status);
      assert.equal(out.error, `HTTP ${status}: bad thing ${"x".repeat(190)}`);
    });
  }

  for (const status of [408, 429, 500, 502, 503]) {
    test(`${status} → retry`, async () => {
      rx.replies.push({ status });
      const out = await post();
      assert.equal(out.kind, "retry");
      assert.ok(out.kind === "retry");
      assert.equal(out.status, status);
      assert.equal(out.retryAfterMs, undefined);
      assert.match(out.error, new RegExp(`^HTTP ${status} from http://127\\.0\\.0\\.1:\\d+$`));
    });
  }

  test("503 with Retry-After seconds → retry after that many ms", async () => {
    rx.replies.push({ status: 503, headers: { "Retry-After": "7" } });
    const out = await post();
    assert.ok(out.kind === "retry");
    assert.equal(out.retryAfterMs, 7000);
  });

  test("429 with Retry-After HTTP date → retry at that date", async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    rx.replies.push({ status: 429, headers: { "Retry-After": at } });
    const out = await post();
    assert.ok(out.kind === "retry");
    assert.ok(
      out.retryAfterMs !== undefined && out.retryAfterMs > 110_000 && out.retryAfterMs <= 120_000,
      String(out.retryAfterMs),
    );
  });

  test("a receiver that does not answer in time → retry with a timeout error", async () => {
    rx.replies.push({ status: 200, delayMs: 5_000 });
    const out = await post("/hook", 300);
    assert.ok(out.kind === "retry");
    assert.match(out.error, /^timeout after 300 ms posting to http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("custom headers are sent; userinfo becomes Basic auth and never appears in errors", async () => {
    rx.replies.push({ status: 204 });
    const url = rx.url("/hook?token=SECRETQ").replace("http://", "http://user:pa55@");
    const out = await deliver(
      { url, headers: { "X-Extra": "v1" }, body: "{}" },
      { timeoutMs: 2000, dispatcher: agent },
    );
    assert.equal(out.kind, "delivered");
    const req = rx.requests.at(-1);
    assert.equal(req?.headers["x-extra"], "v1");
    assert.equal(req?.headers["authorization"], `Basic ${Buffer.from("user:pa55").toString("base64")}`);
    assert.equal(req?.path, "/hook?token=SECRETQ");
    assert.equal(req?.method, "POST");

    rx.replies.push({ status: 500 });
    const failed = await deliver({ url, headers: {}, body: "{}" }, { timeoutMs: 2000, dispatcher: agent });
    assert.ok(failed.kind === "retry");
    assert.doesNotMatch(failed.error, /pa55|user|SECRETQ|hook/);
  });

  test("an aborted request reports aborted (shutdown), not a failure", async () => {
    rx.replies.push({ status: 200, delayMs: 5_000 });
    const ctl = new AbortController();
    const p = deliver(
      { url: rx.url(), headers: {}, body: "{}" },
      { timeoutMs: 10_000, dispatcher: agent, signal: ctl.signal },
    );
    setTimeout(() => ctl.abort(), 100);
    assert.deepEqual(await p, { kind: "aborted" });
  });
});

test("connection refused → retry naming the cause, not the secret parts of the URL", async () => {
  const rx = new Receiver();
  await rx.start();
  const port = rx.port;
  await rx.stop();
  const out = await deliver(
    { url: `http://u:pw@127.0.0.1:${port}/s3cretpath?k=v`, headers: {}, body: "{}" },
    { timeoutMs: 2000 },
  );
  assert.ok(out.kind === "retry");
  assert.equal(out.error, `connection refused (ECONNREFUSED) posting to http://127.0.0.1:${port}`);
});

test("an invalid URL is dead at once", async () => {
  const out = await deliver({ url: "not a url", headers: {}, body: "{}" }, { timeoutMs: 100 });
  assert.ok(out.kind === "dead");
  assert.match(out.error, /invalid sink URL/);
});

test("parseRetryAfter: seconds, HTTP date, garbage, cap at 1 h", () => {
  const now = Date.parse("2025-01-02T03:04:05Z");
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Thu, 02 Jan 2025 03:04:35 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Thu, 02 Jan 2025 03:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter("86400", now), 3_600_000);
  assert.equal(safeOrigin("https://a:b@hooks.example:8443/p?q=1"), "https://hooks.example:8443");
});
