// Event-stream backpressure against a real `wdmesh run`: 64 clients open
// /v1/events/stream and never read, while 100 peers flap (every probe alternates
// ok/miss, so every probe writes a journal entry). The node's memory stays bounded:
// a client may hold at most its budget (1 MiB unsent, or 30 s without draining)
// before it is dropped, and every entry is one frame shared by all clients.
//
// The scenario runs in a network namespace of its own whose TCP buffers are small
// (64 KiB), so what a non-reading client costs shows in the node's memory within a
// minute instead of first filling several MB of kernel buffer per socket. Without the
// budget, the node grows by hundreds of MB in this window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ROOT } from "../cli/harness.js";
import { tempDir } from "../helpers/tmp-dir.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/sse-load.ts", import.meta.url));
const PEERS = 100;
const CLIENTS = 64;
const WARMUP_MS = 10_000;
const WINDOW_MS = 60_000;
// The budget admits at most 1 MiB unsent per client: 64 MiB for 64 clients even if no
// frame were shared. Shared frames keep the real figure far lower (about 1-15 MB on a
// quiet machine); a starved machine runs the garbage collector late and has shown 37 MB.
// Without the budget the node grows by hundreds of MB, so this bound still tells them apart.
const MAX_GROWTH_MB = 64;

const canNetns =
  process.getuid?.() === 0 && spawnSync("unshare", ["--net", "true"], { stdio: "ignore" }).status === 0;

void test(
  "64 non-reading event-stream clients and 100 flapping peers: RSS growth stays within the clients' budget (64 MB)",
  { skip: canNetns ? false : "needs root and unshare --net (a network namespace of its own)" },
  (t) => {
    const dir = tempDir(t, "wdm-sse-mem-");
    const script = [
      "ip link set lo up",
      "echo '4096 16384 65536' > /proc/sys/net/ipv4/tcp_wmem",
      "echo '4096 16384 65536' > /proc/sys/net/ipv4/tcp_rmem",
      `exec "$0" --import tsx "$@"`,
    ].join(" && ");
    const r = spawnSync(
      "unshare",
      [
        "--net",
        "--",
        "sh",
        "-c",
        script,
        process.execPath,
        FIXTURE,
        dir,
        String(PEERS),
        String(CLIENTS),
        String(WARMUP_MS),
        String(WINDOW_MS),
      ],
      { cwd: ROOT, encoding: "utf8", timeout: WARMUP_MS + WINDOW_MS + 120_000 },
    );
    const line = r.stdout.trim().split("\n").pop() ?? "";
    assert.ok(line.startsWith("{"), `no result (exit ${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(line) as Record<string, number | string | undefined>;
    console.log(line);
    assert.equal(out.error, undefined, line);
    assert.equal(out.exit, 0, line);
    assert.ok(Number(out.checks) >= PEERS * 40, `the peers really flapped: ${line}`);
    assert.ok(Number(out.growth_mb) < MAX_GROWTH_MB, `RSS grew too much: ${line}`);
    assert.ok(Number(out.sse_dropped) >= 1, `the budget dropped the clients that did not read: ${line}`);
  },
);
