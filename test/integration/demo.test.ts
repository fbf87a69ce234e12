// `wdmesh demo` end to end, as a user runs it: real processes, real HTTP, real
// remediation commands, real signed webhooks. Uses the built CLI (npm test builds first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort } from "../helpers/ports.js";

test("wdmesh demo: the sidecar is killed and restarted, the broken shield is isolated, every alert is signed", async (t) => {
  if (!existsSync("dist/cli/main.js")) {
    if (process.env.CI) assert.fail("dist/cli/main.js missing: run npm run build first");
    t.skip("dist/ not built (npm run build)");
    return;
  }
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      "dist/cli/main.js",
      "demo",
      "--listen",
      `127.0.0.1:${port}`,
      "--for",
      "20s",
      "--chaos-every",
      "6s",
      "--status-every",
      "1m",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  // While it runs, the dashboard and API answer on the chosen port.
  let mesh: { node: string; members: Array<{ name: string }> } | undefined;
  for (let i = 0; i < 100 && !mesh; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      mesh = (await (await fetch(`http://127.0.0.1:${port}/v1/mesh`)).json()) as typeof mesh;
    } catch {
      /* not up yet */
    }
  }
  assert.equal(mesh?.node, "wd-a");
  assert.deepEqual(
    mesh?.members.map((m) => m.name),
    ["wd-b"],
  );
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  assert.equal(code, 0, out);
  assert.match(out, /chaos: killed sidecar/);
  assert.match(out, /signature ok\) HIGH\s+restart\s+sidecar/);
  assert.match(out, /signature ok\) INFO\s+recovered\s+sidecar/);
  assert.match(out, /signature ok\) CRITICAL isolate\s+shield/);
  assert.match(out, /signature ok\) CRITICAL alert_architect shield/);
  assert.doesNotMatch(out, /BAD SIGNATURE/);
  const final = out.slice(out.lastIndexOf("final state:"));
  assert.match(final, /shield\s+ISOLATED/);
  assert.match(final, /immune\s+HEALTHY/);
  assert.match(final, /wd-b\s+HEALTHY/);
  // Everything it started is gone.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});
