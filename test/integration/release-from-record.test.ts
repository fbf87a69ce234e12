// A release undoes what the isolation record says was applied, whatever the config says
// now. Real systemd in a namespace, the daemon in-process with its real reload:
//  - a peer cut off with `systemd … mode: network` (IPAddressDeny=any), its config then
//    reloaded to `isolate: none`: the release still lifts IPAddressDeny and drops the record;
//  - another, reloaded to a `command` isolate method: the release undoes the systemd
//    isolation from the record and never runs the command's release;
//  - a reload that removes an ISOLATED peer is refused (the peer stays, still releasable).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createExecutor } from "../../src/act/default-executor.js";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/core/logger.js";
import { runDaemon, type DaemonHandle } from "../../src/daemon.js";
import { bootSystemd, freePort, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const skip = skipUnlessSystemd();
const TOKEN = "release-from-record-token-0123456789";

describe("release from the isolation record, after a reload changed the method", { skip }, () => {
  let ns: SystemdNs;
  let node: DaemonHandle | undefined;
  before(async () => {
    ns = await bootSystemd();
  });
  after(async () => {
    await node?.stop();
    await ns?.shutdown();
  });

  test("isolate: none or a command after the reload; removal refused; release lifts IPAddressDeny", async () => {
    const dir = fileTempDir("wdmesh-release-record-");
    const ports = { a: await freePort(), b: await freePort() };
    // Unit names unique to this run: a cut left by a killed earlier run must not be found again.
    const unitOf = (name: string): string => `rec-${name}-${process.pid}`;
    await ns.startAgentUnit(unitOf("a"), ports.a, { mode: "broken" });
    await ns.startAgentUnit(unitOf("b"), ports.b, { mode: "broken" });
    const marker = join(dir, "command-release-ran");
    const cfg = join(dir, "mesh.yaml");
    const peer = (name: "a" | "b", methods: string): string =>
      `  - name: ${name}\n    probe: { http: { url: "http://127.0.0.1:${ports[name]}/health" } }\n${methods}`;
    const systemd = (name: string): string =>
      `    restart: { systemd: { unit: ${unitOf(name)}.service } }\n` +
      `    isolate: { systemd: { unit: ${unitOf(name)}.service, mode: network } }\n`;
    const write = (peers: string[]): void =>
      writeFileSync(
        cfg,
        `node: { name: rec, listen: "127.0.0.1:0", data_dir: "${join(dir, "data")}", api_token: "${TOKEN}" }
defaults: { interval: 1500ms, timeout: 1s, retry_interval: 1500ms, missed_before_restart: 1, restarts_before_isolate: 1, startup_grace: 300ms, restart_backoff: { initial: 300ms, max: 300ms } }
self_health: { loop_delay_p99: 5s, lateness_p99: 5s, window: 3s }
peers:
${peers.join("")}`,
      );
    write([peer("a", systemd("a")), peer("b", systemd("b"))]);
    node = await runDaemon(await loadConfig(cfg), {
      executor: createExecutor({ systemd: { systemctl: ns.systemctl, timeoutMs: 20_000 } }),
      loadConfig: () => loadConfig(cfg),
      logger: silentLogger,
    });
    const n = node;
    await until(
      "both peers ISOLATED, their units under IPAddressDeny",
      async () =>
        n.monitor.getPeerStatus("a")?.status === "ISOLATED" &&
        n.monitor.getPeerStatus("b")?.status === "ISOLATED" &&
        (await ns.prop(unitOf("a"), "IPAddressDeny")) !== "" &&
        (await ns.prop(unitOf("b"), "IPAddressDeny")) !== "",
      60_000,
    );

    // A reload that removes an ISOLATED peer is refused; nothing changes.
    write([peer("b", systemd("b"))]);
    const refused = await n.reload();
    assert.equal(refused.ok, false);
    assert.match(
      JSON.stringify(!refused.ok && refused.problems),
      /peer \\"a\\" is ISOLATED and cannot be removed by a reload/,
    );
    assert.equal(n.monitor.getPeerStatus("a")?.status, "ISOLATED", "the peer stays, releasable");
    assert.ok(n.store.journal(0, 1000).some((e) => e.action === "config_reload_failed"));

    // The methods change: a → none, b → a command. Both stay ISOLATED, records kept.
    write([
      peer("a", "    restart: none\n    isolate: none\n"),
      peer(
        "b",
        `    restart: none\n    isolate: { command: { argv: ["/bin/true"] }, release: { argv: ["/bin/sh", "-c", "touch ${marker}"] } }\n`,
      ),
    ]);
    const ok = await n.reload();
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(n.monitor.getPeerStatus("a")?.status, "ISOLATED");

    const api = async (
      path: string,
    ): Promise<{ action: string; result?: { ok: boolean; error?: string } }> => {
      const r = await fetch(`${n.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${await r.clone().text()}`);
      return (await r.json()) as { action: string; result?: { ok: boolean; error?: string } };
    };
    const relA = await api("/v1/peers/a/release");
    assert.equal(relA.result?.ok, true, relA.result?.error);
    assert.equal(await ns.prop(unitOf("a"), "IPAddressDeny"), "", "the cut is lifted although isolate: none");
    assert.equal(n.store.isolation("a"), null, "the record is dropped once undone");

    const relB = await api("/v1/peers/b/release");
    assert.equal(relB.result?.ok, true, relB.result?.error);
    assert.equal(await ns.prop(unitOf("b"), "IPAddressDeny"), "", "undone from the systemd record");
    assert.equal(existsSync(marker), false, "the command method's release never ran");
    assert.equal(n.store.isolation("b"), null);
  });
});
