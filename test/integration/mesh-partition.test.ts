// Partitions between hosts, not ports: three mesh nodes (confirm: majority) and the
// agent they watch each run in their own network namespace with their own address on a
// bridge this test creates (test/helpers/netns.ts); links are cut with iptables inside
// those namespaces. Every node's restart command appends "PEER ATTEMPT NODE" to one
// shared file and "repairs" the agent, so restarts are counted per step across nodes:
//   1. {A} | {B, C, agent}: the agent is fine for the majority: no restart; A holds.
//   2. A cut off from the members but still reaching the agent, which then fails:
//      B and C are 2 of 3: exactly one restart (A, 1 of 3, holds).
//   3. The agent reachable from A only: B and C see it fail (2 of 3): each restart step
//      runs exactly once, never twice.
//   4. A's links flap (cut/healed every 1.5 s): the agent is fine for B and C: no restart.
// The scenario runs with three `wdmesh run` daemons and with three agents embedding the
// library's Monitor with the same config (test/fixtures/embedded-node.mjs). (The mixed
// mesh runs in mesh-quorum and embedded-mesh; here it would add another ~70 s.)
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { MESH_VARIANTS, nodeCommand, type NodeKind } from "../helpers/mesh-node.js";
import { createLab, skipUnlessNetns, type Lab } from "../helpers/netns.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";
import { membersSettled } from "../helpers/mesh-doc.js";

const skip = skipUnlessNetns();
const KEY = "partition-mesh-key-0123456789";
const TOKEN = "partition-api-token-0123456789";
const PORT = 9760;
const INTERVAL_MS = 1_000;
const NODES = ["wd-a", "wd-b", "wd-c"];

const AGENT_JS = `
const http = require("node:http");
const fs = require("node:fs");
const [ip, port, down] = process.argv.slice(1);
http.createServer((req, res) => {
  const ok = !fs.existsSync(down);
  res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: ok ? "ok" : "down" }));
}).listen(Number(port), ip);
`;

interface Entry {
  action: string;
  peer_name: string;
  reason: string;
}

for (const variant of ["daemons", "embedded"])
  test(
    `partitions between namespaced hosts (${variant}): one restart per step with a majority, none without`,
    { skip },
    (t) => scenario(t, MESH_VARIANTS[variant] as NodeKind[]),
  );

async function scenario(t: TestContext, kinds: NodeKind[]): Promise<void> {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-partition-");
  const restartsFile = join(dir, "restarts");
  const downFile = join(dir, "agent.down");
  let lab: Lab | undefined;
  const output = new Map<string, string>();
  const restarts = (): string[] =>
    existsSync(restartsFile) ? readFileSync(restartsFile, "utf8").split("\n").filter(Boolean) : [];
  const diagnostics = () =>
    [...output].map(([n, o]) => `--- ${n}:\n${o.split("\n").slice(-30).join("\n")}`).join("\n") +
    `\nrestarts:\n${restarts().join("\n")}`;

  try {
    lab = await createLab([...NODES, "agent"], { subnet: 7 });
    const l = lab;
    const base = (n: string) => `http://${l.host(n).ip}:${PORT}`;
    const agentUrl = `http://${l.host("agent").ip}:8080/health`;
    for (const n of NODES) {
      const members = NODES.filter((m) => m !== n)
        .map((m) => `    - { name: ${m}, url: "${base(m)}" }`)
        .join("\n");
      const argv = JSON.stringify([
        "/bin/sh",
        "-c",
        `echo "$WDMESH_PEER $WDMESH_ATTEMPT ${n}" >> ${restartsFile}; rm -f ${downFile}`,
      ]);
      writeFileSync(
        join(dir, `${n}.yaml`),
        `node:
  name: ${n}
  listen: "${l.host(n).ip}:${PORT}"
  data_dir: "${join(dir, n)}"
  api_token: "${TOKEN}"
  public_reads: true
defaults:
  interval: 1s
  timeout: 700ms
  retry_interval: 1s
  missed_before_restart: 2
  restarts_before_isolate: 10
  startup_grace: 1s
  restart_backoff: { initial: 1s, max: 3s }
peers:
  - name: agent
    probe: { http: { url: "${agentUrl}" } }
    restart: { command: { argv: ${argv} } }
    isolate: none
mesh:
  key: "${KEY}"
  confirm: majority
  members:
${members}
# Partitions, not this node's own load, are under test.
${LOOSE_SELF_HEALTH_YAML}
`,
      );
    }
    const agent = l
      .host("agent")
      .spawn([process.execPath, "-e", AGENT_JS, l.host("agent").ip, "8080", downFile]);
    agent.stderr?.on("data", (d: Buffer) => output.set("agent", (output.get("agent") ?? "") + d.toString()));
    for (const [i, n] of NODES.entries()) {
      output.set(n, "");
      const c = l.host(n).spawn(nodeCommand(kinds[i] as NodeKind, join(dir, `${n}.yaml`)));
      const add = (d: Buffer) => output.set(n, (output.get(n) ?? "") + d.toString());
      c.stdout?.on("data", add);
      c.stderr?.on("data", add);
    }

    /* eslint-disable @typescript-eslint/no-explicit-any -- test JSON */
    const mesh = (n: string) => l.host(n).getJson(`${base(n)}/v1/mesh`) as Promise<any>;
    const agentOn = async (n: string): Promise<any> =>
      ((await mesh(n))?.peers as any[] | undefined)?.find((p) => p.name === "agent");
    /* eslint-enable @typescript-eslint/no-explicit-any */
    const events = async (n: string): Promise<Entry[]> =>
      ((await l.host(n).getJson(`${base(n)}/v1/events?limit=1000`)) as Entry[] | undefined) ?? [];
    const settle = (what: string) =>
      until(
        `${what}: every node sees both members alive with fresh views and the agent HEALTHY`,
        async () => {
          for (const n of NODES) {
            if (!membersSettled(await mesh(n), 2, INTERVAL_MS)) return false;
            if ((await agentOn(n))?.status !== "HEALTHY") return false;
          }
          return true;
        },
        60_000,
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    const cutOff = async (a: string, others: string[]) => {
      for (const o of others) await l.cut(a, o);
    };
    const healAll = async () => {
      for (const a of [...NODES, "agent"]) for (const b of [...NODES, "agent"]) if (a < b) await l.heal(a, b);
    };

    await settle("start");

    // 1. {A} | {B, C, agent}: only A sees the agent fail: nobody restarts; A holds.
    await cutOff("wd-a", ["wd-b", "wd-c", "agent"]);
    await until(
      "wd-a to hold the agent's restart",
      async () =>
        (await events("wd-a")).some((e) => e.action === "remediation_held" && e.peer_name === "agent"),
      30_000,
    ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    await sleep(5 * INTERVAL_MS);
    assert.deepEqual(restarts(), [], `no restart while only A sees a failure\n${diagnostics()}`);
    for (const n of ["wd-b", "wd-c"]) assert.equal((await agentOn(n))?.status, "HEALTHY");
    await healAll();
    await settle("after phase 1");

    // 2. A cut off from the members, still reaching the agent; the agent fails for everyone.
    await cutOff("wd-a", ["wd-b", "wd-c"]);
    await sleep(4 * INTERVAL_MS); // A's views of B and C go stale
    writeFileSync(downFile, "");
    await until("a restart", () => restarts().length > 0, 30_000).catch((e: Error) =>
      assert.fail(`${e.message}\n${diagnostics()}`),
    );
    await until(
      "the agent HEALTHY for B and C",
      async () =>
        (await agentOn("wd-b"))?.status === "HEALTHY" && (await agentOn("wd-c"))?.status === "HEALTHY",
      30_000,
    );
    await sleep(4 * INTERVAL_MS);
    const two = restarts();
    assert.equal(two.length, 1, `exactly one restart\n${diagnostics()}`);
    assert.match(two[0] as string, /^agent \d+ wd-[bc]$/, "by B or C, never by the cut-off A");
    await healAll();
    await settle("after phase 2");

    // 3. The agent reachable from A only: B and C (2 of 3) see it fail; the cut is not
    //    repaired by a restart, so steps repeat: each step runs once.
    const before3 = restarts().length;
    await cutOff("agent", ["wd-b", "wd-c"]);
    await until(
      "restarts with the agent cut off from B and C",
      () => restarts().length >= before3 + 2,
      60_000,
    ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    await healAll();
    await settle("after phase 3");
    await sleep(2 * INTERVAL_MS);
    const three = restarts().slice(before3);
    const steps = three.map((l3) => l3.split(" ").slice(0, 2).join(" "));
    assert.equal(
      new Set(steps).size,
      steps.length,
      `a step ran twice: ${three.join(", ")}\n${diagnostics()}`,
    );
    for (const line of three)
      assert.match(line, /^agent \d+ wd-[bc]$/, "A saw the agent alive and never acts");

    // 4. A's links flap: the agent stays fine for B and C: no restart.
    const before4 = restarts().length;
    for (let i = 0; i < 8; i++) {
      if (i % 2 === 0) await cutOff("wd-a", ["wd-b", "wd-c", "agent"]);
      else await healAll();
      await sleep(1_500);
    }
    await healAll();
    await settle("after phase 4");
    await sleep(3 * INTERVAL_MS);
    assert.deepEqual(restarts().slice(before4), [], `no restart while only A's links flap\n${diagnostics()}`);
  } finally {
    await lab?.destroy();
    if (existsSync(downFile)) unlinkSync(downFile);
  }
}
