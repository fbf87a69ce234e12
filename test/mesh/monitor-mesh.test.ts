// The mesh inside the library: Monitor's `mesh` option validated, members watched as
// heartbeat-probed peers, views exchanged between Monitors served by their own
// `handler` / `routes` on real loopback servers, the gate installed, start/stop clean.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Monitor, type MonitorOptions } from "../../src/index.js";
import { FakeProber } from "../../src/testing/index.js";
import { heartbeatProof } from "../../src/probe/heartbeat-proof.js";
import { VIEW_PROOF_HEADER } from "../../src/mesh/views.js";
import { verifyView } from "../../src/mesh/view-schema.js";
import { signViewRequest } from "../../src/mesh/view-auth.js";
import { rendezvousOwner } from "../../src/mesh/owner.js";
import { closeServer as close, listen } from "../helpers/listen.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";

const KEY = "library-mesh-key-0123456789";

describe("Monitor mesh option", () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["identity", { members: [], identity: { privateKey: "x" } }, /^mesh\.identity:/],
    ["short key", { key: "short", members: [] }, /^mesh\.key: .*16/],
    ["confirm", { members: [], confirm: "most" }, /^mesh\.confirm: must be one of any, majority, all/],
    ["members", { members: "b" }, /^mesh\.members: must be an array/],
    [
      "self",
      { members: [{ name: "a", url: "http://127.0.0.1:1" }] },
      /^mesh\.members\[0\]\.name: is this node/,
    ],
    [
      "duplicate",
      {
        members: [
          { name: "b", url: "http://127.0.0.1:1" },
          { name: "b", url: "http://127.0.0.1:2" },
        ],
      },
      /^mesh\.members\[1\]\.name: "b" is listed twice/,
    ],
    ["url", { members: [{ name: "b", url: "ftp://x" }] }, /^mesh\.members\[0\]\.url:/],
  ];
  for (const [what, mesh, re] of bad) {
    test(`rejects a bad ${what} with a typed error naming the field`, () => {
      assert.throws(
        () => new Monitor({ selfName: "a", mesh: mesh as unknown as MonitorOptions["mesh"] }),
        (e: Error & { code?: string }) => e.code === "WDM_INVALID_OPTION" && re.test(e.message),
      );
    });
  }

  test("mesh and a custom gate are exclusive", () => {
    assert.throws(
      () =>
        new Monitor({
          selfName: "a",
          mesh: { members: [] },
          gate: { mayAct: () => true, owner: () => "a" } as unknown as MonitorOptions["gate"],
        }),
      /gate: give either mesh or gate/,
    );
  });

  test("members are registered as authenticated heartbeat peers, alert only", () => {
    const m = new Monitor({
      selfName: "a",
      mesh: { key: KEY, members: [{ name: "b", url: "http://127.0.0.1:9/" }] },
    });
    assert.deepEqual(m.peerNames(), ["b"]);
    assert.equal(m.getPeerStatus("b")?.endpoint, "http://127.0.0.1:9/health");
    assert.equal(m.mesh?.isMember("b"), true);
    assert.notEqual(m.mesh?.gate, undefined, "a gate with a key and members");
    const plain = new Monitor({
      selfName: "a",
      mesh: { members: [{ name: "b", url: "http://127.0.0.1:9" }] },
    });
    assert.equal(plain.mesh?.gate, undefined, "no views without a key, so no gate");
    assert.equal(plain.mesh.meshView("n"), undefined);
    assert.equal(plain.mesh.healthProof("n"), undefined);
  });

  test("a view lists every non-member peer by name with the status and missed count allPeers() shows", async () => {
    const prober = new FakeProber().set("http://127.0.0.1:9/down", "down");
    const m = new Monitor({
      selfName: "a",
      prober,
      mesh: { key: KEY, members: [{ name: "b", url: "http://127.0.0.1:9/" }] },
    });
    m.registerPeer("web", "http://127.0.0.1:9/up");
    m.registerPeer("db", "http://127.0.0.1:9/down");
    m.registerPeer("cache", "http://127.0.0.1:9/up");
    await m.checkAllPeers();
    await m.checkPeer("db");
    const view = m.mesh.meshView("n1", "b");
    assert.ok(view);
    const peers = (JSON.parse(view.body) as { peers: Array<Record<string, unknown>> }).peers;
    const shown = m.allPeers().filter((p) => p.name !== "b");
    assert.deepEqual(
      peers.map((p) => ({ name: p.name, status: p.status, missed_count: p.missed_count })),
      shown.map((p) => ({ name: p.name, status: p.status, missed_count: p.missed_count })),
    );
    assert.deepEqual(
      peers.map((p) => p.name),
      ["cache", "db", "web"],
    );
    assert.equal(peers[1]?.missed_count, 2);
    await m.stop();
  });
});

describe("Monitors in a mesh over loopback", () => {
  test("serve /health with proof, signed views and /v1/mesh; watch and poll each other; stop cleanly", async () => {
    const names = ["lib-a", "lib-b", "lib-c"];
    const ports = await Promise.all(names.map(() => freePort()));
    const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const target = await listen((_req, res) => res.writeHead(200).end("ok"));
    const monitors = names.map(
      (selfName, i) =>
        new Monitor({
          selfName,
          // Generous for a busy machine: all three monitors share this process, and the
          // members must all be HEALTHY with fresh views at one moment.
          interval: 500,
          timeout: 400,
          mesh: {
            key: KEY,
            confirm: "majority",
            members: names.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }])),
          },
        }),
    );
    for (const m of monitors) m.registerPeer("worker", `${target.url}/health`);
    // a: the whole handler; b and c: routes mounted inside an agent's own server.
    const servers = await Promise.all(
      monitors.map((m, i) =>
        listen(
          i === 0
            ? m.mesh.handler
            : (req, res) => {
                if (!m.mesh.routes(req, res)) res.writeHead(418).end("the agent's own route");
              },
          ports[i],
        ),
      ),
    );
    try {
      // routes() leaves other paths to the agent.
      const own = await fetch(`${url(1)}/agent/thing`);
      assert.equal(own.status, 418);
      assert.equal(await own.text(), "the agent's own route");
      // /health with proof.
      const h = (await (await fetch(`${url(1)}/health?nonce=n123`)).json()) as Record<string, string>;
      assert.deepEqual(h, { status: "ok", node: "lib-b", proof: heartbeatProof(KEY, "lib-b", "n123") });
      assert.equal((await fetch(`${url(1)}/health?nonce=${"x".repeat(200)}`)).status, 400);
      assert.equal((await fetch(`${url(1)}/v1/mesh`, { method: "POST" })).status, 405);

      for (const m of monitors) {
        m.start();
        m.start();
      }
      await until(
        "every monitor to see both members HEALTHY with fresh views",
        () =>
          monitors.every((m) => {
            const doc = m.mesh.meshDocument();
            return (
              doc.members.length === 2 &&
              doc.members.every((x) => x.status === "HEALTHY" && typeof x.view_age_ms === "number") &&
              m.getPeerStatus("worker")?.status === "HEALTHY"
            );
          }),
        40_000,
      );
      // The signed view verifies under the key and lists the worker, not the members.
      // Only a member that signs its request is served.
      const nonce = "abcdef";
      const anonymous = await fetch(`${url(2)}/v1/mesh/view?nonce=${nonce}`);
      assert.equal(anonymous.status, 401);
      const vr = await fetch(`${url(2)}/v1/mesh/view?nonce=${nonce}`, {
        headers: signViewRequest({ key: KEY }, "lib-a", "lib-c", nonce, Date.now()),
      });
      assert.equal(vr.status, 200);
      const checked = verifyView(
        KEY,
        Buffer.from(await vr.arrayBuffer()),
        vr.headers.get(VIEW_PROOF_HEADER),
        {
          node: "lib-c",
          nonce,
        },
      );
      assert.ok(checked.ok, JSON.stringify(checked));
      if (checked.ok)
        assert.deepEqual(
          checked.view.peers.map((p) => p.name),
          ["worker"],
        );
      // /v1/mesh over HTTP: peers without members, the members with their view ages.
      const doc = (await (await fetch(`${url(0)}/v1/mesh`)).json()) as {
        node: string;
        peers: Array<{ name: string; owner: string }>;
        members: Array<{ name: string; status: string; view_age_ms: number | null }>;
      };
      assert.equal(doc.node, "lib-a");
      assert.deepEqual(
        doc.peers.map((p) => p.name),
        ["worker"],
      );
      assert.deepEqual(doc.members.map((x) => x.name).sort(), ["lib-b", "lib-c"]);
      // The gate is installed: every node names the same owner of the worker.
      const owner = rendezvousOwner("worker", names);
      for (const m of monitors) assert.equal(m.getPeerStatus("worker")?.owner, owner);
      // The seed's handler still answers the mesh JSON on any other path.
      const root = (await (await fetch(`${url(0)}/`)).json()) as { self: string };
      assert.equal(root.self, "lib-a");
    } finally {
      for (const m of monitors) {
        await m.stop();
        await m.stop();
      }
      for (const m of monitors) assert.equal(m.mesh?.poller?.isRunning, false);
      await Promise.all([...servers, target].map((s) => close(s.server)));
    }
  });
});

describe("Monitor readToken", () => {
  test("guards /v1/mesh (and the handler's other paths); /health stays open; the token may read the view", async () => {
    const TOKEN = "read-token-0123456789";
    assert.throws(
      () => new Monitor({ selfName: "a", readToken: "short" }),
      (e: Error & { code?: string }) => e.code === "WDM_INVALID_OPTION" && /^readToken:/.test(e.message),
    );
    const m = new Monitor({
      selfName: "lib-a",
      readToken: TOKEN,
      mesh: { key: KEY, members: [{ name: "lib-b", url: "http://127.0.0.1:9" }] },
    });
    const { server, url } = await listen(m.mesh.handler);
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      for (const path of ["/v1/mesh", "/"]) {
        const anon = await fetch(`${url}${path}`);
        assert.equal(anon.status, 401, path);
        assert.match(anon.headers.get("www-authenticate") ?? "", /Bearer/);
        assert.equal(
          (await fetch(`${url}${path}`, { headers: { authorization: "Bearer wrong-token-0123456789" } }))
            .status,
          401,
        );
        const ok = await fetch(`${url}${path}`, { headers: auth });
        assert.equal(ok.status, 200, path);
        assert.equal(((await ok.json()) as { node: string }).node, "lib-a");
      }
      assert.equal((await fetch(`${url}/health?nonce=n1`)).status, 200, "/health is open");
      assert.equal(
        (await fetch(`${url}/v1/mesh/view?nonce=v1`)).status,
        401,
        "an unsigned view request is refused",
      );
      const v = await fetch(`${url}/v1/mesh/view?nonce=v1`, { headers: auth });
      assert.equal(v.status, 200, "the read token may read the view");
      const checked = verifyView(KEY, Buffer.from(await v.arrayBuffer()), v.headers.get(VIEW_PROOF_HEADER), {
        node: "lib-a",
        nonce: "v1",
      });
      assert.ok(checked.ok, JSON.stringify(checked));
    } finally {
      await m.stop();
      await close(server);
    }
  });
});
