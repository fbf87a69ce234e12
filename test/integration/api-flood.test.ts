// No off-switch for outsiders: unauthenticated floods of a node's API — pipelined
// (256 KiB of `GET /health` in flight per connection) and plain, on 1 and 8 connections,
// from another loopback address — beside a failing peer. Two daemon processes in a
// mesh (confirm: any): the flooded node keeps restarting its failing peer on schedule,
// has 0 inconclusive checks of its healthy peer, never turns degraded, and its member
// never marks it OFFLINE. Each flood runs in its own process, bounded in time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { spawnDaemon, stopChild, track } from "../helpers/daemon-process.js";
import { freePort } from "../helpers/ports.js";
import { startTogglePeer } from "../helpers/toggle-peer.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";

const KEY = "api-flood-mesh-key-0123456789abcdef";
const FLOOD_MS = 6_000;

// A flooding client: CONNS sockets from 127.0.0.2 to PORT; "pipelined" keeps 256 KiB of
// requests in flight on each, "plain" sends the next request as soon as an answer arrives.
const FLOODER = `
const net = require("node:net");
const [port, conns, mode, ms] = process.argv.slice(1).map((v, i) => (i === 2 ? v : Number(v)));
const req = "GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n";
const chunk = Buffer.from(req.repeat(Math.ceil(262144 / req.length)));
const end = Date.now() + ms;
let opened = 0, answers = 0;
function open() {
  if (Date.now() >= end || opened > 20000) return;
  opened++;
  const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.2" });
  s.on("error", () => {});
  s.on("close", () => setTimeout(open, 5));
  s.on("data", (d) => {
    answers += d.toString("latin1").split("HTTP/1.1 ").length - 1;
    if (mode === "plain" && Date.now() < end) s.write(req);
  });
  s.on("connect", () => {
    if (mode === "plain") { s.write(req); return; }
    const pump = () => { while (Date.now() < end && s.write(chunk)) {} if (Date.now() < end) s.once("drain", pump); };
    pump();
  });
}
for (let i = 0; i < conns; i++) open();
setTimeout(() => { console.log(JSON.stringify({ opened, answers })); process.exit(0); }, ms);
`;

async function flood(port: number, conns: number, mode: "pipelined" | "plain"): Promise<string> {
  const child = track(
    spawn(process.execPath, ["-e", FLOODER, String(port), String(conns), mode, String(FLOOD_MS)], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  assert.equal(code, 0, `flooder ${mode} x${conns} exited ${String(code)}`);
  return out.trim();
}

interface MeshDoc {
  stats: { inconclusive_checks: number };
  self_health?: { status: string };
  members: Array<{ name: string; status: string }>;
}

test("pipelined and plain floods on 1 and 8 connections: restarts on schedule, nothing inconclusive, never OFFLINE", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-flood-");
  const fine = await startTogglePeer(t);
  const broken = createServer((_q, r) => r.writeHead(503).end("down"));
  await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
  t.after(() => {
    broken.closeAllConnections();
    broken.close();
  });
  const brokenPort = (broken.address() as AddressInfo).port;
  const [portA, portB] = [await freePort(), await freePort()];
  const restarts = join(dir, "restarts.log");
  const argv = JSON.stringify(["/bin/sh", "-c", `date +%s%N >> ${restarts}`]);
  const common = (name: string, port: number, other: string, otherPort: number): string =>
    `node: { name: ${name}, listen: "127.0.0.1:${port}", data_dir: "${join(dir, name)}" }
defaults:
  interval: 500ms
  timeout: 400ms
  retry_interval: 500ms
  # A member is OFFLINE after 3 missed heartbeats in a row (1.5 s without an answer).
  missed_before_restart: 3
  restarts_before_isolate: 1000
  startup_grace: 500ms
  restart_backoff: { initial: 500ms, max: 500ms }
# Room for a busy machine (2 cores shared with the flooder): the floods are judged by
# the member's 400 ms heartbeats, the inconclusive count and the restarts.
${LOOSE_SELF_HEALTH_YAML}
mesh:
  key: "${KEY}"
  confirm: any
  members:
    - { name: ${other}, url: "http://127.0.0.1:${otherPort}" }
`;
  writeFileSync(
    join(dir, "a.yaml"),
    common("a", portA, "b", portB) +
      `peers:
  - name: victim
    probe: { http: { url: "http://127.0.0.1:${brokenPort}/health" } }
    missed_before_restart: 1
    restart: { command: { argv: ${argv} } }
    isolate: none
  - name: fine
    probe: { http: { url: "http://127.0.0.1:${fine.port}/health" } }
    restart: none
    isolate: none
`,
  );
  writeFileSync(join(dir, "b.yaml"), common("b", portB, "a", portA) + "peers: []\n");
  const a = spawnDaemon(join(dir, "a.yaml"), { keepChars: 20_000 });
  const b = spawnDaemon(join(dir, "b.yaml"), { keepChars: 20_000 });
  const mesh = async (port: number): Promise<MeshDoc> =>
    (await (
      await fetch(`http://127.0.0.1:${port}/v1/mesh`, { signal: AbortSignal.timeout(5_000) })
    ).json()) as MeshDoc;
  const stamps = (): number[] =>
    existsSync(restarts)
      ? readFileSync(restarts, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => Number(l) / 1e6)
      : [];
  try {
    await until(
      "both nodes up, b sees a HEALTHY, a restarting victim",
      async () =>
        (await mesh(portB)).members.some((m) => m.name === "a" && m.status === "HEALTHY") &&
        stamps().length >= 3,
      60_000,
      { retryErrors: true },
    );
    const inconclusiveBefore = (await mesh(portA)).stats.inconclusive_checks;

    for (const [conns, mode] of [
      [1, "pipelined"],
      [8, "pipelined"],
      [1, "plain"],
      [8, "plain"],
    ] as const) {
      const from = Date.now();
      const seenB: string[] = [];
      const seenA: string[] = [];
      let watching = true;
      // What the member says of a, and a of itself, all through the flood.
      const watch = (async () => {
        for (let i = 0; watching && i < 200; i++) {
          const [mb, ma] = await Promise.all([mesh(portB).catch(() => null), mesh(portA).catch(() => null)]);
          if (mb) seenB.push(mb.members.find((m) => m.name === "a")?.status ?? "?");
          if (ma) seenA.push(ma.self_health?.status ?? "?");
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const result = await flood(portA, conns, mode);
      watching = false;
      await watch;
      const to = Date.now();
      const during = stamps().filter((s) => s >= from && s <= to);
      const what = `${mode} x${conns} (${result})`;
      // One restart per 0.5 s grace + 0.5 s retry at best: at least 2 in 6 s, even on a busy machine.
      const tail = (out: string): string =>
        out
          .split("\n")
          .filter((l) => /held|degraded|inconclusive|failed|status changed/.test(l))
          .slice(-10)
          .join("\n");
      assert.ok(
        during.length >= 2,
        `${what}: ${during.length} restarts of the failing peer during the flood; a said ${seenA.join(",")}\n${tail(a.output())}`,
      );
      const gaps = during.slice(1).map((s, i) => s - (during[i] as number));
      assert.ok(Math.max(0, ...gaps) < 4_000, `${what}: restart gaps ${gaps.map(Math.round).join(", ")} ms`);
      assert.ok(
        !seenB.includes("OFFLINE"),
        `${what}: b saw a as ${seenB.join(",")}\n${b
          .output()
          .split("\n")
          .filter((l) => /"peer":"a"|"member":"a"/.test(l))
          .slice(-8)
          .join("\n")}`,
      );
      assert.ok(!seenA.includes("degraded"), `${what}: a said of itself ${seenA.join(",")}`);
      assert.ok(seenA.length > 0, `${what}: a answered its readers during the flood`);
    }
    const after = await mesh(portA);
    const said = (re: RegExp): string =>
      a
        .output()
        .split("\n")
        .filter((l) => re.test(l))
        .slice(-10)
        .join("\n");
    assert.equal(
      after.stats.inconclusive_checks - inconclusiveBefore,
      0,
      `no inconclusive check; a said:\n${said(/inconclusive|held|degraded/)}`,
    );
    const events = (await (await fetch(`http://127.0.0.1:${portA}/v1/events?limit=1000`)).json()) as Array<{
      action: string;
      peer_name: string;
    }>;
    assert.ok(!events.some((e) => e.action === "self_degraded"), "a never turned degraded");
    assert.ok(
      !events.some((e) => e.peer_name === "fine"),
      `the healthy peer was never escalated; a said:\n${said(/"peer":"fine"/)}`,
    );
  } finally {
    await stopChild(a.child, "SIGTERM");
    await stopChild(b.child, "SIGTERM");
  }
});
