// A step that has nothing to run is alerted at once, saying so: a real daemon whose peer
// has a restart command that cannot start and no isolate method, and a real receiver.
// Before, the isolate and alert_architect alerts waited for an effect result that never
// came (up to a minute) and then arrived without one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnCli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { Receiver } from "../helpers/receiver.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { FAST_LADDER, writeDaemonConfig } from "../helpers/config-builder.js";

interface Body {
  action: string;
  result?: { ok: boolean; error?: string };
}

void test("restart that cannot start and isolation with no method are alerted at once with that result", async (t) => {
  const dir = tempDir(t, "wdmesh-nomethod-");
  const rx = await new Receiver().start();
  const closed = await freePort(); // nothing listens there: every probe misses
  const port = await freePort();
  const cfg = writeDaemonConfig(dir, {
    node: { name: "immune", listen: port, data_dir: dir },
    defaults: FAST_LADDER,
    looseSelfHealth: true, // the alerts are under test, not this node's own load
    peers: [
      {
        name: "shield",
        probe: { tcp: { host: "127.0.0.1", port: closed } },
        restart: { command: { argv: [join(dir, "no-such-restart-program")] } },
      },
    ],
    alerts: [
      {
        name: "architect",
        webhook: { url: rx.url("/hook"), secret: "whsec-0123456789abcdef", format: "generic" },
        min_severity: "INFO",
      },
    ],
  });
  const run = spawnCli(["run", "--config", cfg]);
  try {
    const bodies = (): Body[] => rx.requests.map((r) => JSON.parse(r.body) as Body);
    // The effect wait gives up after 60 s; these alerts must come well before that.
    await until(
      "isolate and alert_architect delivered",
      () => {
        if (run.child.exitCode !== null) throw new Error(`wdmesh run exited early`);
        return bodies().some((b) => b.action === "alert_architect");
      },
      40_000,
    );
    // The restart is sent when decided, and its result follows (the same incident).
    const restart = bodies().find((b) => b.action === "restart" && b.result !== undefined);
    assert.equal(restart?.result?.ok, false);
    assert.match(restart?.result?.error ?? "", /no-such-restart-program|ENOENT|not found/i);
    // The node is not on the default address: the CRITICAL alert names the --url to use.
    const architect = rx.requests
      .map((r) => JSON.parse(r.body) as { action: string; reason: string })
      .find((b) => b.action === "alert_architect");
    assert.match(
      architect?.reason ?? "",
      new RegExp(`run "wdmesh release shield --url http://127\\.0\\.0\\.1:${port}"`),
    );
    const isolate = bodies().find((b) => b.action === "isolate");
    assert.equal(isolate?.result?.ok, false);
    assert.equal(isolate?.result?.error, "no isolate method configured for this peer; nothing was done");
  } finally {
    run.child.kill("SIGTERM");
    const r = await run.result;
    await rx.stop();
    assert.equal(r.code, 0, r.stderr);
  }
});
