// `wdmesh demo` end to end, as a user runs it: real processes, real HTTP, real
// remediation commands, real signed webhooks. Uses the built CLI (npm test builds first).
// The test waits for the outcomes it checks, then stops the demo as a user does (a signal):
// nothing depends on how fast this machine restarts the sidecar.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";

test(
  "wdmesh demo: the sidecar is killed and restarted, the broken shield is isolated, every alert is signed",
  {
    timeout: 180_000,
  },
  async (t) => {
    if (!haveBuiltCli(t)) return;
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI, "demo", "--listen", `127.0.0.1:${port}`, "--chaos-every", "3s", "--status-every", "1m"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      // While it runs, the dashboard and API answer on the chosen port.
      let mesh: { node: string; members: Array<{ name: string }> } | undefined;
      await until(
        "the demo's API",
        async () => {
          try {
            mesh = (await (await fetch(`http://127.0.0.1:${port}/v1/mesh`)).json()) as typeof mesh;
          } catch {
            /* not up yet */
          }
          return mesh !== undefined || child.exitCode !== null;
        },
        60_000,
      );
      assert.equal(mesh?.node, "wd-a");
      assert.deepEqual(
        mesh?.members.map((m) => m.name),
        ["wd-b"],
      );
      const wanted = [
        /chaos: killed sidecar/,
        /signature ok\) HIGH\s+restart\s+sidecar/,
        /signature ok\) INFO\s+recovered\s+sidecar/,
        /signature ok\) CRITICAL isolate\s+shield/,
        /signature ok\) CRITICAL alert_architect shield/,
      ];
      await until(
        "the demo's kill, restart, recovery and isolation alerts",
        () => wanted.every((re) => re.test(out)),
        150_000,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${out}`);
      });
    } finally {
      if (child.exitCode === null) child.kill("SIGTERM");
    }
    const code = await exited;
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /BAD SIGNATURE/);
    const final = out.slice(out.lastIndexOf("final state:"));
    assert.match(final, /shield\s+ISOLATED/);
    assert.match(final, /immune\s+HEALTHY/);
    assert.match(final, /wd-b\s+HEALTHY/);
    // Everything it started is gone.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
  },
);
