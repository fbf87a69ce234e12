// Proofs bound to their asker: a heartbeat proof (mesh key or identity) and a view are
// made for one requester of one mesh, so an answer relayed to another member, or taken
// from another mesh that shares a key or an identity, fails.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Monitor } from "../../src/monitor.js";
import { generateIdentity } from "../../src/core/identity.js";
import { meshIdentity } from "../../src/mesh/mesh-node.js";
import { signViewRequest } from "../../src/mesh/view-auth.js";
import { verifyView } from "../../src/mesh/view-schema.js";
import { VIEW_PROOF_HEADER } from "../../src/mesh/views.js";
import { checkHeartbeatBody } from "../../src/probe/heartbeat.js";

const KEY = "binding-mesh-key-0123456789";

function node(selfName: string, mesh: ConstructorParameters<typeof Monitor>[0]["mesh"]): Monitor {
  return new Monitor({ selfName, mesh, selfHealth: false });
}

/** GET on `server` (a Monitor's mesh handler): status, body, proof header. */
async function ask(
  m: Monitor,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; proof: string | undefined }> {
  const server = createServer(m.mesh.handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      get({ host: "127.0.0.1", port, path, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            proof: res.headers[VIEW_PROOF_HEADER] as string | undefined,
          }),
        );
      }).on("error", reject);
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe("heartbeat proofs are bound to the requester and the mesh", () => {
  const meshA = { key: KEY, members: [{ name: "wd-b", url: "http://127.0.0.1:1" }] };
  const a = node("wd-a", meshA);
  const idA = a.mesh.meshId;
  const spec = (from: string, mesh: string) => ({ url: "http://x", node: "wd-a", key: KEY, from, mesh });

  test("the answer to wd-b's probe verifies for wd-b only, and only in its own mesh", async () => {
    const r = await ask(a, "/health?nonce=n1&from=wd-b");
    assert.equal(r.status, 200);
    assert.equal(checkHeartbeatBody(r.body, spec("wd-b", idA), "n1"), undefined);
    assert.match(
      checkHeartbeatBody(r.body, spec("wd-c", idA), "n1") ?? "",
      /proof does not match/,
      "relayed to another requester",
    );
    assert.match(
      checkHeartbeatBody(r.body, spec("wd-b", "another-mesh"), "n1") ?? "",
      /proof does not match/,
      "taken into another mesh",
    );
  });

  test("an unbound answer (no from) does not pass a member's check", async () => {
    const r = await ask(a, "/health?nonce=n1");
    assert.match(checkHeartbeatBody(r.body, spec("wd-b", idA), "n1") ?? "", /proof does not match/);
  });

  test("an identity that serves two meshes: its signature in one fails in the other", async () => {
    const id = generateIdentity();
    const pubB = generateIdentity();
    const members = [{ name: "wd-b", url: "http://127.0.0.1:1", publicKey: pubB.publicKey }];
    const inOne = node("wd-a", { identity: id.privatePem, id: "mesh-one", members });
    const r = await ask(inOne, "/health?nonce=n9&from=wd-b");
    const s = (mesh: string) => ({
      url: "http://x",
      node: "wd-a",
      publicKey: id.publicKey,
      from: "wd-b",
      mesh,
    });
    assert.equal(checkHeartbeatBody(r.body, s("mesh-one"), "n9"), undefined);
    assert.match(checkHeartbeatBody(r.body, s("mesh-two"), "n9") ?? "", /signature does not match/);
  });
});

describe("views are bound to the requester and the mesh", () => {
  test("a view made for wd-c fails at wd-b (relay), and a view of another mesh fails", async () => {
    const members = [
      { name: "wd-b", url: "http://127.0.0.1:1" },
      { name: "wd-c", url: "http://127.0.0.1:2" },
    ];
    const a = node("wd-a", { key: KEY, members });
    const now = Date.now();
    const fetchFor = (who: string, nonce: string) =>
      ask(a, `/v1/mesh/view?nonce=${nonce}`, signViewRequest({ key: KEY }, who, "wd-a", nonce, now));
    const forC = await fetchFor("wd-c", "n-c");
    assert.equal(forC.status, 200);
    const expect = { node: "wd-a", nonce: "n-c", mesh: a.mesh.meshId };
    assert.equal(verifyView(KEY, forC.body, forC.proof, { ...expect, requester: "wd-c" }).ok, true);
    const relayed = verifyView(KEY, forC.body, forC.proof, { ...expect, requester: "wd-b" });
    assert.equal(relayed.ok, false);
    assert.match((relayed as { error: string }).error, /made for "wd-c", not for this node/);
    const other = verifyView(KEY, forC.body, forC.proof, { ...expect, requester: "wd-c", mesh: "x" });
    assert.equal(other.ok, false);
    assert.match((other as { error: string }).error, /another mesh/);
  });

  test("the default mesh identity: from the key, else from every node's name", () => {
    const members = [{ name: "wd-b", url: "http://127.0.0.1:1" }];
    assert.equal(
      meshIdentity({ key: KEY, members }, "wd-a"),
      meshIdentity({ key: KEY, members: [] }, "wd-z"),
    );
    assert.notEqual(
      meshIdentity({ key: KEY, members }, "wd-a"),
      meshIdentity({ key: `${KEY}x`, members }, "wd-a"),
    );
    const byNames = meshIdentity({ members }, "wd-a");
    assert.equal(
      byNames,
      meshIdentity({ members: [{ name: "wd-a", url: "http://x" }] }, "wd-b"),
      "same nodes",
    );
    assert.notEqual(byNames, meshIdentity({ members: [{ name: "wd-c", url: "http://x" }] }, "wd-a"));
    assert.equal(meshIdentity({ id: "prod-eu", key: KEY, members }, "wd-a"), "prod-eu");
  });
});
