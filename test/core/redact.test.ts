// The one redaction function: secrets hidden in text, in JSON text (escaped form), in
// every string of a value (errors included), and URLs masked the same way everywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MASK, Redactor, redactUrl } from "../../src/core/redact.js";

void test("a secret is hidden in text, in JSON text where it appears escaped, and longest first", () => {
  const r = new Redactor(['key"with\\quote', "abc", "abcdef", "xy"]);
  assert.equal(r.text("abcdef and abc"), `${MASK} and ${MASK}`);
  assert.equal(r.text(JSON.stringify({ k: 'key"with\\quote' })), `{"k":"${MASK}"}`);
  assert.equal(
    r.text("xy stays: too short to hide meaningfully"),
    "xy stays: too short to hide meaningfully",
  );
});

void test("value() redacts every string of a value, errors included, and returns the same object when clean", () => {
  const r = new Redactor(["s3cr3t-value"]);
  const clean = { a: 1, b: ["x"], c: { d: "y" } };
  assert.equal(r.value(clean), clean);
  const out = r.value({
    a: "got s3cr3t-value back",
    b: [{ c: "s3cr3t-value" }],
    err: new Error("echo s3cr3t-value"),
  });
  assert.deepEqual(JSON.parse(JSON.stringify(out)), {
    a: `got ${MASK} back`,
    b: [{ c: MASK }],
    err: { type: "Error", message: `echo ${MASK}`, stack: (out.err as unknown as { stack: string }).stack },
  });
  assert.ok(!JSON.stringify(out).includes("s3cr3t-value"));
});

void test("add() hides new secrets too (a reloaded config), and keeps the old ones", () => {
  const r = new Redactor([]);
  assert.equal(r.empty, true);
  r.add(["new-secret-1"]);
  r.add(["new-secret-2"]);
  assert.equal(r.text("new-secret-1 new-secret-2"), `${MASK} ${MASK}`);
});

void test("redactUrl masks passwords and secret-looking query values, keeping the URL as written", () => {
  assert.equal(redactUrl("http://u:pw@h:1"), `http://u:${MASK}@h:1`);
  assert.equal(redactUrl("http://h:1/health?token=abc&x=1"), `http://h:1/health?token=${MASK}&x=1`);
  assert.equal(redactUrl("http://h:1/health"), "http://h:1/health");
  assert.equal(redactUrl("not a url"), "not a url");
});
