// Three nodes on loopback watch each other (authenticated
// heartbeats, signed view exchange) and the same target agent, with confirm: majority.
//   1. Only the rendezvous owner sees the target fail (1 of 3): nobody restarts it.
//   2. Every node sees it fail: exactly one node runs the restart command (the node a
//      quorum backs; usually the rendezvous owner, but any one node is correct).
//   3. That remediator is killed with SIGKILL and the target fails again: one of the
//      survivors takes over (once the dead node's views are stale) and only it restarts.
// Each node's restart command appends "$WDMESH_PEER $WDMESH_ATTEMPT" to its own log file.
// Every scenario runs with three `wdmesh run` daemons, three agents embedding the
// library's Monitor with the same config (test/fixtures/embedded-node.mjs), and a mix.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { join } from "node:path";
import { rendezvousOrder } from "../../src/mesh/owner.js";
import { freePort } from "../helpers/ports.js";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { MESH_VARIANTS, nodeCommand, type NodeKind } from "../helpers/mesh-node.js";
import { waitFor } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { membersSettled } from "../helpers/mesh-doc.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";

const KEY = "integration-mesh-key-0123456789";
const TARGET = "agent";
const NODES = ["wd-a", "wd-b", "wd-c"];
const INTERVAL_MS = 300;
const MISSED_BEFORE_RESTART = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` until it is truthy or `ms` passed; returns the last value. */
interface Node {
  name: string;
  kind: NodeKind;
  url: string;
  config: string;
  log: string;
  child?: ChildProcess;
  output: string;
}

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON */
async function getJson(url: string): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

const restartLines = (n: Node): string[] =>
  existsSync(n.log)
    ? readFileSync(n.log, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];

for (const [variant, kinds] of Object.entries(MESH_VARIANTS))
  test(`mesh of three nodes (${variant}): one remediator, only after a majority confirms; takeover when it dies`, (t) =>
    scenario(t, kinds));

async function scenario(t: TestContext, kinds: NodeKind[]): Promise<void> {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-mesh-");

  // The target agent: /health/<node> answers 503 while that node is in `failing`.
  const failing = new Set<string>();
  const target: Server = createHttpServer((req, res) => {
    const node = (req.url ?? "").split("/")[2] ?? "";
    const status = failing.has(node) ? 503 : 200;
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(JSON.stringify({ status: status === 200 ? "ok" : "down" }));
  });
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  const targetPort = (target.address() as { port: number }).port;

  const nodes: Node[] = [];
  for (const [i, name] of NODES.entries()) {
    const port = await freePort();
    nodes.push({
      name,
      kind: kinds[i] as NodeKind,
      url: `http://127.0.0.1:${port}`,
      config: join(dir, `${name}.yaml`),
      log: join(dir, `${name}.restarts`),
      output: "",
    });
  }
  const byName = (n: string) => nodes.find((x) => x.name === n) as Node;
  for (const n of nodes) {
    const argv = JSON.stringify(["/bin/sh", "-c", `echo "$WDMESH_PEER $WDMESH_ATTEMPT" >> ${n.log}`]);
    const members = nodes
      .filter((m) => m !== n)
      .map((m) => `    - { name: ${m.name}, url: "${m.url}" }`)
      .join("\n");
    writeFileSync(
      n.config,
      `node: { name: ${n.name}, listen: "${n.url.slice("http://".length)}", data_dir: "${join(dir, n.name)}" }
defaults:
  interval: ${INTERVAL_MS}ms
  timeout: 250ms
  retry_interval: ${INTERVAL_MS}ms
  missed_before_restart: ${MISSED_BEFORE_RESTART}
  restarts_before_isolate: 3
  startup_grace: ${INTERVAL_MS}ms
  restart_backoff: { initial: ${INTERVAL_MS}ms, max: 1s }
  stable_after: 10m
# The quorum is under test, not this node's own load.
${LOOSE_SELF_HEALTH_YAML}
peers:
  - name: ${TARGET}
    probe: { http: { url: "http://127.0.0.1:${targetPort}/health/${n.name}" } }
    restart: { command: { argv: ${argv} } }
    isolate: none
mesh:
  key: "${KEY}"
  confirm: majority
  # The restart command finishes in milliseconds; the default (30 s command timeout +
  # one interval) would also keep a just-started node from deciding for 30 s.
  takeover_after: 1s
  members:
${members}
`,
    );
  }

  const start = (n: Node) => {
    const [cmd, ...args] = nodeCommand(n.kind, n.config) as [string, ...string[]];
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => (n.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (n.output += d.toString()));
    n.child = child;
  };
  const kill = async (n: Node, signal: NodeJS.Signals) => {
    const c = n.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    await Promise.race([exited, sleep(5_000)]);
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await exited;
    }
  };
  const diagnostics = () =>
    nodes.map((n) => `--- ${n.name} (${n.kind}):\n${n.output.split("\n").slice(-40).join("\n")}`).join("\n");

  try {
    for (const n of nodes) start(n);

    const order = rendezvousOrder(TARGET, NODES);
    const [owner, second, third] = order.map(byName) as [Node, Node, Node];

    // All up; every node sees both others alive with fresh views, the target HEALTHY,
    // and agrees on the owner.
    await waitFor(
      "three nodes agreeing on the owner",
      async () => {
        for (const n of nodes) {
          if (!membersSettled(await getJson(`${n.url}/v1/mesh`), 2, INTERVAL_MS)) return false;
          const agent = await getJson(`${n.url}/v1/peers/${TARGET}`);
          if (agent.status !== "HEALTHY" || agent.owner !== owner.name) return false;
        }
        return true;
      },
      30_000,
      { retryErrors: true },
    ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));

    // 1. Only the owner sees the target fail: 1 of 3 is no majority, nobody restarts.
    failing.add(owner.name);
    const missed = await waitFor(
      "the owner to count many misses",
      async () => {
        const a = await getJson(`${owner.url}/v1/peers/${TARGET}`);
        return a.missed_count >= 3 * MISSED_BEFORE_RESTART ? (a.missed_count as number) : 0;
      },
      20_000,
      { retryErrors: true },
    );
    assert.ok(missed >= 3 * MISSED_BEFORE_RESTART);
    for (const n of [second, third])
      assert.equal((await getJson(`${n.url}/v1/peers/${TARGET}`)).status, "HEALTHY");
    for (const n of nodes)
      assert.deepEqual(restartLines(n), [], `${n.name} restarted without a quorum\n${diagnostics()}`);
    assert.equal((await getJson(`${owner.url}/v1/peers/${TARGET}`)).status, "DEGRADED");
    failing.clear();
    await waitFor(
      "the owner to see the target healthy again",
      async () => (await getJson(`${owner.url}/v1/peers/${TARGET}`)).status === "HEALTHY",
      10_000,
      { retryErrors: true },
    );

    // 2. Everyone sees the target fail: exactly one restart, by one node. The restart
    //    "works": the target answers again as soon as a restart line appears.
    for (const n of NODES) failing.add(n);
    await waitFor("a restart", () => nodes.some((n) => restartLines(n).length > 0), 20_000, {
      retryErrors: true,
    }).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    failing.clear();
    await waitFor(
      "every node to see the target healthy",
      async () => {
        for (const n of nodes)
          if ((await getJson(`${n.url}/v1/peers/${TARGET}`)).status !== "HEALTHY") return false;
        return true;
      },
      10_000,
      { retryErrors: true },
    );
    await sleep(4 * INTERVAL_MS);
    const restarted = nodes.filter((n) => restartLines(n).length > 0);
    assert.equal(restarted.length, 1, `exactly one node restarts\n${diagnostics()}`);
    const remediator = restarted[0] as Node;
    assert.deepEqual(
      restartLines(remediator),
      [`${TARGET} 1`],
      `${remediator.name} restarts once\n${diagnostics()}`,
    );

    // 3. The remediator dies (SIGKILL); the target fails again: a survivor takes over once
    //    the dead node's views are stale, and only it restarts.
    const survivors = nodes.filter((n) => n !== remediator);
    await kill(remediator, "SIGKILL");
    for (const n of NODES) failing.add(n);
    await waitFor(
      "a restart after the remediator died",
      () => survivors.some((n) => restartLines(n).length > 0),
      20_000,
      { retryErrors: true },
    ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    failing.clear();
    await waitFor(
      "the survivors to see the target healthy",
      async () => {
        for (const n of survivors)
          if ((await getJson(`${n.url}/v1/peers/${TARGET}`)).status !== "HEALTHY") return false;
        return true;
      },
      10_000,
      { retryErrors: true },
    );
    await sleep(4 * INTERVAL_MS);
    assert.deepEqual(
      survivors.flatMap((n) => restartLines(n)),
      [`${TARGET} 1`],
      `exactly one survivor takes over\n${diagnostics()}`,
    );
    assert.deepEqual(
      restartLines(remediator),
      [`${TARGET} 1`],
      `the dead node restarted nothing more\n${diagnostics()}`,
    );
    const healthyOwner = rendezvousOrder(
      TARGET,
      survivors.map((n) => n.name),
    )[0];
    for (const n of survivors) {
      const mesh = await getJson(`${n.url}/v1/mesh`);
      const dead = mesh.members.find((m: { name: string }) => m.name === remediator.name);
      assert.notEqual(dead.status, "HEALTHY", `${n.name} sees the dead node`);
      assert.ok(dead.view_age_ms > 3 * INTERVAL_MS, `${n.name}: the dead node's view is stale`);
      assert.equal((await getJson(`${n.url}/v1/peers/${TARGET}`)).owner, healthyOwner);
    }
  } finally {
    await Promise.all(nodes.map((n) => kill(n, "SIGTERM")));
    await new Promise<void>((r) => {
      target.closeAllConnections();
      target.close(() => r());
    });
  }
}
