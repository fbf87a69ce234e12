// A fleet across real network partitions: a 3-member etcd and two `wdmesh run` daemons,
// each member and each node on a host of its own (test/helpers/netns.ts: a network
// namespace on a private bridge, no route out), links cut with iptables.
//   - one etcd member cut off from everyone: the nodes keep their leases through the two
//     others, and the agent on h1 killed is restarted exactly once, by h1's node, with a token;
//   - host h2 cut off from everyone while its node keeps running: h1's node declares one
//     host_unreachable for h2 and runs h2's fence once, only after h2's lease could have
//     expired; h2's node, without etcd, holds the restart of its own failing agent (no step
//     without a token) and says so; healed, it restarts that agent once, with a token.
//     h1's node, which watches h2's HTTP agent across the cut, pages none of its misses:
//     the host's one host_unreachable stands for it.
import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { spawnDaemon, type Daemon } from "../helpers/daemon-process.js";
import { lines } from "../helpers/file-lines.js";
import { EtcdCluster, etcdSkipReason } from "../helpers/etcd-cluster.js";
import { createLab, skipUnlessNetns, type Lab } from "../helpers/netns.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const skip = skipUnlessNetns() ?? etcdSkipReason();
const TOKEN = "fleet-netns-api-token-0123456789";
const PORT = 9760;
const LEASE_TTL_MS = 6_000;
const ETCD_HOSTS = ["e0", "e1", "e2"];
const NODE_HOSTS = ["h1", "h2"];
/** agent3 answers HTTP on h2 at this port (reached across the bridge, so a cut fails it). */
const AGENT3_PORT = 9771;
const AGENT_SERVER = new URL("../../bench/fixtures/fleet-agents.mjs", import.meta.url).pathname;

interface Entry {
  action: string;
  peer_name: string;
  reason: string;
  timestamp: string;
}

describe(
  "a fleet across network namespaces: etcd member and host partitions",
  { skip, timeout: 300_000 },
  () => {
    let lab: Lab;
    let cluster: EtcdCluster;
    let dir: string;
    const nodes = new Map<string, Daemon>();
    const up = (agent: string): string => join(dir, `${agent}.up`);
    const restarts = (): string => join(dir, "restarts");
    const fences = (): string => join(dir, "fences");
    const url = (h: string): string => `http://${lab.host(h).ip}:${PORT}`;
    const diagnostics = (): string =>
      [...nodes].map(([h, d]) => `--- ${h}:\n${d.output().split("\n").slice(-30).join("\n")}`).join("\n") +
      `\nrestarts:\n${lines(restarts()).join("\n")}\nfences:\n${lines(fences()).join("\n")}`;

    /** GET `path` of h's node from inside h (its own namespace reaches its own address). */
    const get = async <T>(h: string, path: string): Promise<T> => {
      const got = await lab.host(h).getJson(url(h) + path);
      if (got === undefined) throw new Error(`${h}${path}: no answer`);
      return got as T;
    };
    const events = (h: string): Promise<Entry[]> => get<Entry[]>(h, "/v1/events?limit=1000");
    const status = async (h: string, peer: string): Promise<string> =>
      (await get<{ status: string }>(h, `/v1/peers/${peer}`)).status;
    const cutOff = async (h: string): Promise<void> => {
      for (const o of [...ETCD_HOSTS, ...NODE_HOSTS]) if (o !== h) await lab.cut(h, o);
    };
    const heal = async (h: string): Promise<void> => {
      for (const o of [...ETCD_HOSTS, ...NODE_HOSTS]) if (o !== h) await lab.heal(h, o);
    };

    function config(h: string, name: string): string {
      const f = join(dir, `${name}.yaml`);
      const peer = (agent: string, host: string, tag: string) => [
        `  - name: ${agent}`,
        `    host: ${host}`,
        `    probe: { exec: { argv: [/usr/bin/test, -f, ${up(agent)}] } }`,
        `    restart: { command: { argv: [/bin/sh, -c, 'echo "${agent} ${tag} $WDMESH_FENCING_TOKEN" >> ${restarts()}; touch ${up(agent)}'] } }`,
        "    isolate: none",
      ];
      writeFileSync(
        f,
        [
          "node:",
          `  name: ${name}`,
          `  host: ${h}`,
          `  listen: "${lab.host(h).ip}:${PORT}"`,
          `  api_token: "${TOKEN}"`,
          "  public_reads: true",
          `  data_dir: ${join(dir, `data-${name}`)}`,
          "defaults: { interval: 500ms, timeout: 400ms, missed_before_restart: 2, restart_backoff: { initial: 500ms, max: 1s } }",
          "peers:",
          ...peer("agent1", "h1", h),
          ...peer("agent2", "h2", h),
          "  - name: agent3",
          "    host: h2",
          `    probe: { http: { url: "http://${lab.host("h2").ip}:${AGENT3_PORT}/health" } }`,
          "    restart: { command: { argv: [/bin/true] } }",
          "    isolate: none",
          "coordination:",
          `  etcd: { endpoints: [${cluster.endpoints.join(", ")}], prefix: /wdmesh-netns, lease_ttl: ${LEASE_TTL_MS}ms, keepalive_interval: 1s, request_timeout: 2s }`,
          "hosts:",
          `  - { name: h2, fence: { command: { argv: [/bin/sh, -c, 'echo "$WDMESH_PEER $WDMESH_FENCING_TOKEN" >> ${fences()}'] } } }`,
          "",
        ].join("\n"),
      );
      return f;
    }

    before(async () => {
      lab = await createLab([...ETCD_HOSTS, ...NODE_HOSTS], { subnet: 31 });
      cluster = await EtcdCluster.start(3, { hosts: ETCD_HOSTS.map((h) => lab.host(h)) });
      dir = fileTempDir("wdmesh-fleet-netns-");
      for (const a of ["agent1", "agent2"]) writeFileSync(up(a), "");
      const agent3 = lab
        .host("h2")
        .spawn([process.execPath, AGENT_SERVER, lab.host("h2").ip, String(AGENT3_PORT - 1), "1", "h2", dir]);
      await new Promise<void>((resolve, reject) => {
        agent3.stdout?.on("data", (b: Buffer) => /listening/.test(b.toString()) && resolve());
        agent3.once("exit", (code) => reject(new Error(`agent3's server exited (${code})`)));
      });
      for (const [i, h] of NODE_HOSTS.entries())
        nodes.set(
          h,
          spawnDaemon(config(h, `node-${i + 1}`), { wrap: ["ip", "netns", "exec", lab.host(h).ns] }),
        );
      await until(
        "both nodes in the fleet, both agents healthy for both",
        async () => {
          for (const h of NODE_HOSTS) {
            if ((await get<{ members: unknown[] }>(h, "/v1/fleet")).members.length !== 2) return false;
            for (const a of ["agent1", "agent2", "agent3"])
              if ((await status(h, a)) !== "HEALTHY") return false;
          }
          return true;
        },
        90_000,
        { retryErrors: true, everyMs: 250 },
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    });

    after(async () => {
      await cluster?.stopAll();
      await lab?.destroy();
    });

    test("one etcd member cut off: leases kept through the others; the agent on h1 restarted once, by h1's node, with a token", async (t) => {
      if (!haveBuiltCli(t)) return;
      const cut = cluster.members[2]!;
      await cutOff("e2");
      try {
        // Longer than a lease: had a node depended on the cut member, its lease would be gone.
        await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 1_000));
        for (const h of NODE_HOSTS)
          assert.equal(
            (await get<{ members: unknown[] }>(h, "/v1/fleet")).members.length,
            2,
            `${h} still sees both nodes with ${cut.name} cut off\n${diagnostics()}`,
          );
        rmSync(up("agent1"));
        await until("agent1 restarted", () => existsSync(up("agent1")), 60_000).catch((e: Error) =>
          assert.fail(`${e.message}\n${diagnostics()}`),
        );
        await until(
          "both nodes see agent1 healthy again",
          async () =>
            (await status("h1", "agent1")) === "HEALTHY" && (await status("h2", "agent1")) === "HEALTHY",
          30_000,
          { retryErrors: true },
        );
        const done = lines(restarts());
        assert.equal(done.length, 1, diagnostics());
        assert.match(done[0]!, /^agent1 h1 \d+$/, "by h1's node, with a fencing token");
      } finally {
        await heal("e2");
      }
    });

    test("h2 cut off with its node running: one host_unreachable and one fence, after its lease; h2's node holds its own step until healed", async (t) => {
      if (!haveBuiltCli(t)) return;
      await cluster.waitHealthy(60_000);
      const before = lines(restarts()).length;
      await cutOff("h2");
      const cutAt = Date.now();
      // Until h2's node has seen etcd go, a failure there is held for want of a quorum (its
      // view of the others is older than the cut); here it fails once the node knows.
      await until(
        "h2's node holds coordinated steps, naming etcd",
        async () => /etcd/.test((await get<{ held: string | null }>("h2", "/v1/fleet")).held ?? ""),
        30_000,
        { retryErrors: true },
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
      rmSync(up("agent2"));
      try {
        const down = await waitFor(
          "host_unreachable for h2 on h1's node",
          async () =>
            (await events("h1")).find((e) => e.action === "host_unreachable" && e.peer_name === "h2"),
          60_000,
          { retryErrors: true },
        ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
        assert.ok(
          Date.parse(down.timestamp) - cutAt >= LEASE_TTL_MS - 1_500,
          `only once h2's lease could have expired (${Date.parse(down.timestamp) - cutAt} ms after the cut)`,
        );
        await until("h2's fence ran", () => lines(fences()).length > 0, 30_000).catch((e: Error) =>
          assert.fail(`${e.message}\n${diagnostics()}`),
        );
        const held = await waitFor(
          "h2's node holds agent2's restart, naming etcd",
          async () =>
            (await events("h2")).find(
              (e) => e.action === "remediation_held" && e.peer_name === "agent2" && /etcd/.test(e.reason),
            ),
          60_000,
          { retryErrors: true },
        ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
        assert.ok(held);
        assert.equal(
          lines(restarts()).length,
          before,
          `no restart without a token while h2 is cut off\n${diagnostics()}`,
        );
        assert.ok(
          !(await events("h1")).some((e) => e.action === "restart" && e.peer_name === "agent2"),
          "h1's node never restarts h2's agent",
        );
        // Misses while h1 itself is starved (a loaded machine) are inconclusive, not misses:
        // its verdict on agent3 may take a few more probes.
        await until(
          "h1 cannot reach agent3 across the cut",
          async () => (await status("h1", "agent3")) !== "HEALTHY",
          30_000,
          { retryErrors: true },
        ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
        assert.deepEqual(
          (await events("h1")).filter((e) => e.peer_name === "agent3"),
          [],
          `h1's node pages nothing of agent3: the host's one host_unreachable stands for it\n${diagnostics()}`,
        );
        const metrics = await lab.host("h1").run(["curl", "-sf", "-m", "2", `${url("h1")}/metrics`]);
        assert.match(
          metrics.stdout,
          /^wdmesh_fleet_peer_quiet\{peer="agent3"\} 1$/m,
          "and says so in its metrics",
        );
      } finally {
        await heal("h2");
      }
      await until("agent2 restarted once h2 is back", () => existsSync(up("agent2")), 90_000).catch(
        (e: Error) => assert.fail(`${e.message}\n${diagnostics()}`),
      );
      const after2 = lines(restarts()).slice(before);
      assert.equal(after2.length, 1, diagnostics());
      assert.match(after2[0]!, /^agent2 h2 \d+$/, "by h2's node, with a fencing token");
      const fenced = lines(fences());
      assert.equal(fenced.length, 1, `one fence for the one host incident\n${diagnostics()}`);
      assert.match(fenced[0]!, /^h2 \d+$/);
      const ea = await events("h1");
      assert.equal(ea.filter((e) => e.action === "host_unreachable").length, 1, "one host_unreachable");
      await until(
        "h1 reaches agent3 again",
        async () => (await status("h1", "agent3")) === "HEALTHY",
        30_000,
        {
          retryErrors: true,
        },
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
      assert.deepEqual(
        (await events("h1")).filter((e) => e.peer_name === "agent3"),
        [],
        "no recovery paged for an incident never opened",
      );
    });
  },
);
