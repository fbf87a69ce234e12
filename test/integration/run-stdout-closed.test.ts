// A node whose log reader goes away (stdout EPIPE) keeps watching and still stops
// cleanly on SIGTERM: a watchdog must not exit because nobody reads its logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../helpers/ports.js";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { tempDir } from "../helpers/tmp-dir.js";

test("wdmesh run survives its stdout reader going away", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-epipe-");
  const port = await freePort();
  const dead = await freePort();
  writeFileSync(
    join(dir, "mesh.yaml"),
    `node: { name: epipe, listen: "127.0.0.1:${port}", data_dir: "${join(dir, "data")}" }
defaults: { interval: 200ms, timeout: 100ms, missed_before_restart: 2, startup_grace: 0s, restart_backoff: { initial: 0s, max: 0s } }
peers:
  - name: gone
    probe: { http: { url: "http://127.0.0.1:${dead}/health" } }
    restart: { command: { argv: ["/bin/sh", "-c", "true"] } }
`,
  );
  const child = spawn(process.execPath, [CLI, "run", "--config", join(dir, "mesh.yaml")], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  t.after(() => child.kill("SIGKILL"));
  // Read the first line, then close our end: every later log line hits EPIPE.
  await new Promise<void>((r) => child.stdout.once("data", () => r()));
  child.stdout.destroy();
  // The peer keeps escalating (log lines every 200 ms) for two seconds.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(child.exitCode, null, "still running");
  const mesh = (await (await fetch(`http://127.0.0.1:${port}/v1/mesh`)).json()) as {
    stats: { total_checks: number; total_restarts: number };
  };
  assert.ok(mesh.stats.total_checks >= 5, `probing went on: ${mesh.stats.total_checks} checks`);
  assert.ok(mesh.stats.total_restarts >= 1);
  child.kill("SIGTERM");
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  assert.equal(code, 0);
});
