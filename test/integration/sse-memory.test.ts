// Event-stream backpressure against a real `wdmesh run`: 64 clients open
// /v1/events/stream and never read, while 100 peers flap (every probe alternates
// ok/miss, so every probe writes a journal entry). The node's memory stays bounded:
// a client may hold at most its budget (1 MiB unsent, or 30 s without draining)
// before it is dropped, and every entry is one frame shared by all clients.
//
// What the streams hold unsent is read from the node's own account
// (wdmesh_sse_buffered_bytes, scraped every 500 ms): it never passes 64 × 1 MiB, and
// every client is dropped. Without the budget nobody is dropped and the account passes
// the budget within seconds (570 MiB in a minute, of frames shared between clients).
// The node's RSS, though, then grows by only some 50 MB a minute, no more than a
// starved machine's late garbage collection can add (a budgeted node once showed 75 MB
// beside four busy loops). So RSS is only checked against a gross leak: a copy of every
// frame per client would grow it by gigabytes.
//
// The scenario runs in a network namespace of its own whose TCP buffers are small
// (64 KiB), so what a non-reading client costs shows in the node within a minute
// instead of first filling several MB of kernel buffer per socket.
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
/** The budget: at most 1 MiB unsent per client. */
const MAX_BUFFERED_MB = CLIENTS * 1;
/** RSS growth that can only be a leak: three times what the budget admits. */
const MAX_GROWTH_MB = 3 * MAX_BUFFERED_MB;

const canNetns =
  process.getuid?.() === 0 && spawnSync("unshare", ["--net", "true"], { stdio: "ignore" }).status === 0;

void test(
  "64 non-reading event-stream clients and 100 flapping peers: what they hold unsent stays within their budget (64 × 1 MiB), each is dropped",
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
    assert.ok(
      Number(out.most_buffered_mb) > 0 && Number(out.most_buffered_mb) <= MAX_BUFFERED_MB,
      `the streams held more than their budget unsent (or nothing at all): ${line}`,
    );
    assert.ok(
      Number(out.sse_dropped) >= CLIENTS,
      `the budget dropped every client that did not read: ${line}`,
    );
    assert.ok(Number(out.growth_mb) < MAX_GROWTH_MB, `RSS grew like a leak: ${line}`);
  },
);
