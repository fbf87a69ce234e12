// A relay answering for a member, with real `wdmesh run` daemons. wd-a (mesh "mesh-one")
// has two members: wd-d, reached directly, and wd-b, whose address is a relay in this test
// that forwards every request verbatim to wd-c and returns wd-c's answer verbatim. wd-c is a
// real daemon of ANOTHER mesh ("mesh-two") that calls itself wd-b, lists a wd-a among its
// members and holds the SAME mesh key: its heartbeat proofs and signed views carry the right
// node name, nonce, requester and key, and differ from a genuine wd-b's only by the mesh
// identity they are bound to. wd-a must not take them as wd-b's: wd-b is never counted HEALTHY
// and its view is refused as another mesh's (GET /v1/mesh, GET /v1/peers/wd-b, the log),
// while the honest wd-d is HEALTHY and its view is received. Against a proof bound only to the
// node name and nonce ("NAME:N", an unbound view), the relayed answers verify and wd-b is HEALTHY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { writeDaemonConfig } from "../helpers/config-builder.js";
import { spawnDaemon } from "../helpers/daemon-process.js";
import { freePorts } from "../helpers/ports.js";
import { meshMembers } from "../helpers/mesh-doc.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const KEY = "relay-test-shared-mesh-key-0123456789";

void test("a relay forwarding another mesh's same-named, same-key node is not taken as the member", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdm-relay-");
  const [portA, portC, portD, relayPort, nobody] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];

  // The relay: every request goes to wd-c as it came (path, query, headers), every answer
  // comes back as wd-c gave it (status, headers, body). It records what wd-c answered.
  const relayed: Array<{ path: string; status: number }> = [];
  const relay = createServer((req, res) => {
    const headers: IncomingHttpHeaders = { ...req.headers, host: `127.0.0.1:${portC}` };
    const fwd = request(
      { host: "127.0.0.1", port: portC, method: req.method, path: req.url, headers },
      (up) => {
        relayed.push({ path: (req.url ?? "").split("?")[0] ?? "", status: up.statusCode ?? 0 });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on("error", () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => relay.listen(relayPort, "127.0.0.1", r));
  t.after(() => relay.close());
  relay.on("connection", (s) => t.after(() => s.destroy()));

  const timing = { interval: "500ms", retry_interval: "500ms", timeout: "400ms", missed_before_restart: 2 };
  const write = (name: string, port: number, id: string, others: Array<[string, number]>): string =>
    writeDaemonConfig(
      dir,
      {
        node: { name, listen: port, data_dir: join(dir, `${name}-${id}-state`) },
        defaults: timing,
        looseSelfHealth: true,
        mesh: {
          key: KEY,
          id,
          confirm: "majority",
          members: others.map(([n, p]) => ({ name: n, url: `http://127.0.0.1:${p}` })),
        },
      },
      `${name}-${id}.yaml`,
    );
  const cfgA = write("wd-a", portA, "mesh-one", [
    ["wd-b", relayPort],
    ["wd-d", portD],
  ]);
  const cfgD = write("wd-d", portD, "mesh-one", [
    ["wd-a", portA],
    ["wd-b", relayPort],
  ]);
  // Another mesh's node named wd-b, same key; its own wd-a is nowhere (nobody listens there).
  const cfgC = write("wd-b", portC, "mesh-two", [["wd-a", nobody]]);

  const c = spawnDaemon(cfgC);
  const d = spawnDaemon(cfgD);
  await until(
    "wd-c (mesh-two's wd-b) to serve /health through the relay",
    async () => (await fetch(`http://127.0.0.1:${relayPort}/health`).catch(() => null))?.ok === true,
    30_000,
  ).catch((e: unknown) => assert.fail(`${String(e)}\nwd-c:\n${c.output().slice(-2000)}`));
  const a = spawnDaemon(cfgA);
  const dump = (): string =>
    `\nwd-a:\n${a.output().slice(-4000)}\nwd-c:\n${c.output().slice(-1500)}\nwd-d:\n${d.output().slice(-1500)}`;

  // Positive events first: the honest member is HEALTHY with a received view, and the relayed
  // member is judged (OFFLINE, its view refused as another mesh's) after wd-c answered both.
  await until(
    "wd-a to count wd-d HEALTHY with a view, and wd-b OFFLINE",
    async () => {
      const ms = await meshMembers(portA);
      const dm = ms.find((m) => m.name === "wd-d");
      const bm = ms.find((m) => m.name === "wd-b");
      return dm?.status === "HEALTHY" && dm.view_age_ms !== null && bm?.status === "OFFLINE";
    },
    45_000,
  ).catch((e: unknown) => assert.fail(`${String(e)}${dump()}`));
  await until(
    "wd-a to log wd-b's view refused as another mesh's",
    () => /view belongs to another mesh/.test(a.output()),
    30_000,
  ).catch((e: unknown) => assert.fail(`${String(e)}${dump()}`));

  // The relay really delivered wd-c's well-formed, key-proven answers to wd-a's requests.
  assert.ok(
    relayed.some((r) => r.path === "/health" && r.status === 200),
    `wd-c answered heartbeats through the relay: ${JSON.stringify(relayed.slice(0, 5))}`,
  );
  assert.ok(
    relayed.some((r) => r.path === "/v1/mesh/view" && r.status === 200),
    `wd-c served signed views through the relay: ${JSON.stringify(relayed.slice(0, 5))}`,
  );

  const ms = await meshMembers(portA);
  assert.equal(ms.find((m) => m.name === "wd-b")?.status, "OFFLINE");
  assert.equal(ms.find((m) => m.name === "wd-b")?.view_age_ms, null, "no view of wd-b was ever kept");
  assert.equal(ms.find((m) => m.name === "wd-d")?.status, "HEALTHY");

  const peer = (await (await fetch(`http://127.0.0.1:${portA}/v1/peers/wd-b`)).json()) as {
    status: string;
    last_error: string | null;
  };
  assert.equal(peer.status, "OFFLINE");
  assert.match(peer.last_error ?? "", /heartbeat proof invalid: proof does not match the mesh key/);
  const viewLine = a
    .output()
    .split("\n")
    .find((l) => l.includes("view belongs to another mesh"));
  assert.match(viewLine ?? "", /wd-b/, "the refusal names the member");
  assert.doesNotMatch(a.output(), new RegExp(KEY), "the key is never logged");
});
