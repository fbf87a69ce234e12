import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { peer } from "../helpers/fake-backend.js";
import { apiForSuite, startApi } from "../api/harness.js";
import { cli } from "./harness.js";

void describe("wdmesh status", () => {
  const h = apiForSuite({
    apiToken: "tok",
    backendOptions: {
      peers: [
        peer("sidecar", "HEALTHY", { response_time_ms: 7 }),
        peer("shield", "OFFLINE", { last_error: "connection refused", restart_count: 2 }),
        peer("fresh", "UNKNOWN"),
      ],
    },
  });

  void test("prints a table of peers and exits 3 when any peer is not HEALTHY", async () => {
    const r = await cli(["status", "--url", h.url]);
    assert.equal(r.code, 3, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /node immune, 3 peer\(s\)/);
    assert.match(lines[1]!, /^PEER\s+STATUS\s+MISSES\s+RESTARTS\s+LAST SEEN\s+LATENCY\s+NOTE$/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? "";
    assert.match(row("sidecar"), /^sidecar\s+HEALTHY\s+0\s+0\s+\d+s ago\s+7ms$/);
    assert.match(row("shield"), /^shield\s+OFFLINE\s+0\s+2\s+\d+s ago\s+12ms\s+connection refused$/);
    assert.match(row("fresh"), /^fresh\s+UNKNOWN\s+0\s+0\s+never\s+-$/);
  });

  void test("exits 0 when every peer is HEALTHY; reads the URL from WDMESH_URL", async () => {
    const h2 = await startApi({ backendOptions: { peers: [peer("a", "HEALTHY"), peer("b", "HEALTHY")] } });
    try {
      const r = await cli(["status"], { WDMESH_URL: h2.url });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^a\s+HEALTHY/m);
    } finally {
      await h2.close();
    }
  });

  void test("status PEER prints that peer with every field; an unknown peer names the known ones", async () => {
    const long = "connection refused ".repeat(8).trim();
    const h2 = await startApi({
      backendOptions: {
        peers: [peer("shield", "OFFLINE", { last_error: long, restart_count: 2 }), peer("ok", "HEALTHY")],
      },
    });
    try {
      const r = await cli(["status", "shield", "--url", h2.url]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /^peer\s+shield$/m);
      assert.match(r.stdout, /^status\s+OFFLINE$/m);
      assert.match(r.stdout, /^restarts\s+2$/m);
      assert.ok(r.stdout.includes(`last error    ${long}\n`), r.stdout); // whole, not clipped
      assert.doesNotMatch(r.stdout, /^ok\s/m);
      const healthy = await cli(["status", "ok", "--json", "--url", h2.url]);
      assert.equal(healthy.code, 0);
      assert.equal((JSON.parse(healthy.stdout) as { name: string }).name, "ok");
      const none = await cli(["status", "nope", "--url", h2.url]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no peer named "nope" on node immune/);
      assert.match(none.stderr, /its peers: .*shield/);
    } finally {
      await h2.close();
    }
  });

  void test("--json prints the mesh view and keeps the exit code", async () => {
    const r = await cli(["status", "--json", "--url", h.url]);
    assert.equal(r.code, 3);
    const view = JSON.parse(r.stdout);
    assert.equal(view.node, "immune");
    assert.deepEqual(
      view.peers.map((p: { name: string }) => p.name),
      ["fresh", "shield", "sidecar"],
    );
  });

  void test("an unreachable node is exit 1 with a clear message", async () => {
    const h2 = await startApi();
    const url = h2.url;
    await h2.close();
    const r = await cli(["status", "--url", url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the wdmesh API at http:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.match(r.stderr, /--url/);
  });

  void test("with a read token: missing token is rejected with a hint, the token works", async () => {
    const h2 = await startApi({ readToken: "rt", backendOptions: { peers: [peer("a", "HEALTHY")] } });
    try {
      const no = await cli(["status", "--url", h2.url]);
      assert.equal(no.code, 2);
      assert.match(no.stderr, /requires a token/);
      assert.match(no.stderr, /pass --token or set WDMESH_API_TOKEN/);
      const ok = await cli(["status", "--url", h2.url, "--token", "rt"]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await h2.close();
    }
  });
});
