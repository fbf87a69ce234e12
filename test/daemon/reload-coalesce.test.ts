// Reloads run one at a time and the calls that arrive while one runs share the next one:
// a burst of 50 reads the config twice (the read under way, then one for all the others),
// whatever the timing, and every caller gets an answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/config/resolve.js";
import { silentLogger } from "../../src/core/logger.js";
import { runDaemon } from "../../src/daemon.js";
import { tempDir } from "../helpers/tmp-dir.js";

void test("a burst of 50 reloads while one runs reads the config twice; all 50 are answered", async (t) => {
  const dir = tempDir(t, "wdmesh-coalesce-");
  const text = `
node: { name: solo, listen: "127.0.0.1:0", data_dir: ${join(dir, "data")} }
peers:
  - { name: a, probe: { tcp: { host: 127.0.0.1, port: 1 } }, interval: 1s, timeout: 100ms, restart: none, isolate: none }
`;
  const rc = parseConfig(text, {}, "solo.yaml");
  let reads = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const loadConfig = async (): Promise<ResolvedConfig> => {
    reads += 1;
    await gate;
    return parseConfig(text, {}, "solo.yaml");
  };
  const d = await runDaemon(rc, { logger: silentLogger, loadConfig });
  try {
    const first = d.reload();
    // Let the first read begin, then 49 more arrive while it is held.
    await new Promise((r) => setImmediate(r));
    assert.equal(reads, 1);
    const rest = Array.from({ length: 49 }, () => d.reload());
    release();
    const all = await Promise.all([first, ...rest]);
    assert.ok(
      all.every((o) => o.ok),
      JSON.stringify(all.find((o) => !o.ok)),
    );
    assert.equal(reads, 2, "the 49 calls that arrived meanwhile shared one read");
    // Once idle, a reload reads again.
    assert.equal((await d.reload()).ok, true);
    assert.equal(reads, 3);
  } finally {
    await d.stop();
  }
});
