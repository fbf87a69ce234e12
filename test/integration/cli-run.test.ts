// `wdmesh run` for real: the daemon starts from a config file, serves its API, and
// SIGTERM stops it cleanly with exit code 0; a bad config starts nothing (exit 2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli, cli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";

void test("wdmesh run serves the API and stops cleanly on SIGTERM (exit 0)", async (t) => {
  const dir = tempDir(t, "wdmesh-run-");
  const port = await freePort();
  const cfg = writeDaemonConfig(dir, {
    node: { name: "runner", listen: port, data_dir: dir, api_token: "${RUN_TOKEN}" },
    defaults: { interval: "1h" },
    peers: [tcpPeer("nobody", 9)],
  });
  const run = spawnCli(["run", "--config", cfg], { RUN_TOKEN: "run-secret-token" });
  const url = `http://127.0.0.1:${port}`;
  const health = await waitFor(
    "the node to answer /health",
    async () => {
      const r = await fetch(`${url}/health`);
      return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
    },
    30_000,
    { retryErrors: true, everyMs: 100 },
  );
  assert.deepEqual(health, { status: "ok", node: "runner" });
  const status = await cli(["status", "--url", url]);
  assert.match(status.stdout, /^nobody\s/m);
  run.child.kill("SIGTERM");
  const r = await run.result;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    !r.stdout.includes("run-secret-token") && !r.stderr.includes("run-secret-token"),
    "the token is never logged",
  );
  await assert.rejects(fetch(`${url}/health`), "the listener is closed");
});

void test("wdmesh run with a bad config exits 2 and starts nothing", async (t) => {
  const dir = tempDir(t, "wdmesh-run-");
  const cfg = join(dir, "bad.yaml");
  writeFileSync(cfg, "node: { name: Bad Name }\npeers: []\n");
  const r = await cli(["run", "--config", cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /node\.name: /);
});
