// Per-node identities and signed view requests: a member proves itself with the mesh
// key or, when it has an Ed25519 identity, only with its own key; requests are bound to
// both names, the nonce and a timestamp, and none is accepted twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  generateIdentity,
  identityProblem,
  loadIdentity,
  parsePublicKey,
  publicKeyProblem,
  verifySignature,
} from "../../src/core/identity.js";
import {
  SIGNATURE_HEADER,
  signViewRequest,
  ViewRequestVerifier,
  VIEW_REQUEST_SKEW_MS,
} from "../../src/mesh/view-auth.js";
import { buildView, signView } from "../../src/mesh/views.js";
import { verifyView } from "../../src/mesh/view-schema.js";
import { checkHeartbeatBody } from "../../src/probe/heartbeat.js";
import { heartbeatMessage, heartbeatProof } from "../../src/probe/heartbeat-proof.js";

const KEY = "shared-mesh-key-0123456789";
const NOW = Date.parse("2026-01-01T00:00:00Z");

void test("an identity signs, its public key verifies, another key does not", () => {
  const a = generateIdentity();
  const b = generateIdentity();
  const ida = loadIdentity(a.privatePem);
  assert.equal(ida.publicKey, a.publicKey);
  assert.equal(publicKeyProblem(a.publicKey), undefined);
  const sig = ida.sign("hello");
  assert.equal(verifySignature(parsePublicKey(a.publicKey), "hello", sig), true);
  assert.equal(verifySignature(parsePublicKey(a.publicKey), "hellO", sig), false);
  assert.equal(verifySignature(parsePublicKey(b.publicKey), "hello", sig), false);
  assert.equal(verifySignature(parsePublicKey(a.publicKey), "hello", "not base64"), false);
  assert.match(
    identityProblem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----") ?? "",
    /wdmesh keygen/,
  );
  assert.match(publicKeyProblem("short") ?? "", /44 base64 characters/);
});

void test("view requests signed with the mesh key: accepted once, from a member, in time, for this node", () => {
  const v = new ViewRequestVerifier({ self: "wd-b", key: KEY, members: [{ name: "wd-a" }] });
  const h = signViewRequest({ key: KEY }, "wd-a", "wd-b", "n1", NOW);
  assert.equal(v.problem(h, "n1", NOW), undefined);
  assert.match(v.problem(h, "n1", NOW) ?? "", /already used/, "a replay is refused");
  assert.match(v.problem({}, "n1", NOW) ?? "", /only to members that sign/);
  assert.match(
    v.problem(signViewRequest({ key: KEY }, "wd-x", "wd-b", "n2", NOW), "n2", NOW) ?? "",
    /not from a member/,
  );
  assert.match(
    v.problem(signViewRequest({ key: "another-key-0123456789" }, "wd-a", "wd-b", "n3", NOW), "n3", NOW) ?? "",
    /does not verify/,
  );
  assert.match(
    v.problem(signViewRequest({ key: KEY }, "wd-a", "wd-c", "n4", NOW), "n4", NOW) ?? "",
    /does not verify/,
    "a request for another node is no good here",
  );
  assert.match(
    v.problem(signViewRequest({ key: KEY }, "wd-a", "wd-b", "n5", NOW), "other", NOW) ?? "",
    /does not verify/,
  );
  const old = signViewRequest({ key: KEY }, "wd-a", "wd-b", "n6", NOW - VIEW_REQUEST_SKEW_MS - 1);
  assert.match(v.problem(old, "n6", NOW) ?? "", /timestamp/);
});

void test("a replayed view request is refused in any spelling of its signature (hex case, base64 padding bits)", () => {
  const v = new ViewRequestVerifier({ self: "wd-b", key: KEY, members: [{ name: "wd-a" }] });
  const h = signViewRequest({ key: KEY }, "wd-a", "wd-b", "n1", NOW);
  assert.equal(v.problem(h, "n1", NOW), undefined);
  const upper = {
    ...h,
    [SIGNATURE_HEADER]: String(h[SIGNATURE_HEADER]).replace(
      /=(.*)$/,
      (_m, hex: string) => `=${hex.toUpperCase()}`,
    ),
  };
  assert.notEqual(upper[SIGNATURE_HEADER], h[SIGNATURE_HEADER]);
  assert.match(
    v.problem(upper, "n1", NOW) ?? "",
    /already used/,
    "the same MAC in upper case is the same request",
  );

  const a = generateIdentity();
  const w = new ViewRequestVerifier({
    self: "wd-b",
    members: [{ name: "wd-a", publicKey: parsePublicKey(a.publicKey) }],
  });
  const signed = signViewRequest({ identity: loadIdentity(a.privatePem) }, "wd-a", "wd-b", "n2", NOW);
  assert.equal(w.problem(signed, "n2", NOW), undefined);
  // 64 bytes fill 86 base64 characters; the last one carries 4 unused bits, so 16
  // spellings decode to the same signature.
  const sig = String(signed[SIGNATURE_HEADER]);
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const last = sig.at(-3) as string;
  const other = B64[B64.indexOf(last) ^ 1] as string;
  const respelled = { ...signed, [SIGNATURE_HEADER]: `${sig.slice(0, -3)}${other}==` };
  assert.notEqual(respelled[SIGNATURE_HEADER], sig);
  assert.match(w.problem(respelled, "n2", NOW) ?? "", /already used/, "the same signature spelled otherwise");
});

void test("a member with a public key must sign with its own identity: the mesh key no longer speaks for it", () => {
  const a = generateIdentity();
  const thief = generateIdentity();
  const v = new ViewRequestVerifier({
    self: "wd-b",
    key: KEY,
    members: [{ name: "wd-a", publicKey: parsePublicKey(a.publicKey) }],
  });
  const byKey = signViewRequest({ key: KEY }, "wd-a", "wd-b", "n1", NOW);
  assert.match(v.problem(byKey, "n1", NOW) ?? "", /does not verify/, "holding the mesh key is not enough");
  const byOther = signViewRequest({ identity: loadIdentity(thief.privatePem) }, "wd-a", "wd-b", "n2", NOW);
  assert.match(v.problem(byOther, "n2", NOW) ?? "", /does not verify/);
  const byOwn = signViewRequest({ identity: loadIdentity(a.privatePem) }, "wd-a", "wd-b", "n3", NOW);
  assert.equal(v.problem(byOwn, "n3", NOW), undefined);
});

void test("views signed with an identity verify only under that member's public key", () => {
  const a = generateIdentity();
  const id = loadIdentity(a.privatePem);
  const body = buildView("wd-a", [], NOW, "n1");
  const proof = signView(body, { key: KEY, identity: id });
  assert.match(proof, /^ed25519=/);
  const ok = verifyView({ publicKey: parsePublicKey(a.publicKey) }, Buffer.from(body), proof, {
    node: "wd-a",
    nonce: "n1",
  });
  assert.equal(ok.ok, true);
  const hmac = signView(body, { key: KEY });
  const refused = verifyView({ publicKey: parsePublicKey(a.publicKey) }, Buffer.from(body), hmac, {
    node: "wd-a",
    nonce: "n1",
  });
  assert.equal(refused.ok, false, "a view proven with the mesh key is refused for a member with an identity");
  assert.equal(verifyView(KEY, Buffer.from(body), hmac, { node: "wd-a", nonce: "n1" }).ok, true);
});

void test("identity heartbeats: the signature is bound to the node, the requester and the nonce", () => {
  const a = generateIdentity();
  const id = loadIdentity(a.privatePem);
  const spec = { url: "http://127.0.0.1:1", node: "wd-a", publicKey: a.publicKey, from: "wd-b" };
  const answer = (o: object) => Buffer.from(JSON.stringify({ status: "ok", node: "wd-a", ...o }));
  const good = id.sign(heartbeatMessage("wd-a", "wd-b", "n1"));
  assert.equal(checkHeartbeatBody(answer({ signature: good }), spec, "n1"), undefined);
  assert.match(checkHeartbeatBody(answer({ signature: good }), spec, "n2") ?? "", /signature does not match/);
  const forOther = id.sign(heartbeatMessage("wd-a", "wd-c", "n1"));
  assert.match(
    checkHeartbeatBody(answer({ signature: forOther }), spec, "n1") ?? "",
    /signature does not match/,
    "a proof given to another requester is worth nothing here",
  );
  assert.match(
    checkHeartbeatBody(answer({ proof: heartbeatProof(KEY, "wd-a", "n1") }), spec, "n1") ?? "",
    /no identity signature/,
    "a leaked mesh key does not pass for a node with its own identity",
  );
});
