// A single-host node without `coordination` never loads the etcd client (nor gRPC): the
// daemon starts, runs and stops, and neither module is in the module cache. The control:
// loading the fleet's client does put it there, so the check would see it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/core/logger.js";
import { runDaemon } from "../../src/daemon.js";
import { loadEtcd3 } from "../../src/fleet/etcd-load.js";
import { tempDir } from "../helpers/tmp-dir.js";

const require = createRequire(import.meta.url);
const loaded = (pkg: string): string[] =>
  Object.keys(require.cache).filter((p) => p.includes(`/node_modules/${pkg}/`));

void test("a node without coordination never loads etcd3 or gRPC; loading the fleet's client does", async (t) => {
  const dir = tempDir(t, "wdmesh-lazy-");
  const rc = parseConfig(
    `
node: { name: solo, listen: "127.0.0.1:0", data_dir: ${join(dir, "data")} }
peers:
  - { name: a, host: elsewhere, probe: { tcp: { host: 127.0.0.1, port: 1 } }, interval: 200ms, timeout: 100ms }
`,
    {},
    "solo.yaml",
  );
  const d = await runDaemon(rc, { logger: silentLogger });
  try {
    const res = await fetch(`${d.url}/v1/fleet`);
    assert.equal(res.status, 404, "no fleet without coordination");
    assert.equal((await fetch(`${d.url}/v1/sd`)).status, 404);
  } finally {
    await d.stop();
  }
  assert.deepEqual(loaded("etcd3"), [], "etcd3 was not loaded");
  assert.deepEqual(loaded("@grpc/grpc-js"), [], "gRPC was not loaded");

  await loadEtcd3();
  assert.ok(loaded("etcd3").length > 0, "the check sees etcd3 once it is loaded");
});
