// Reload on a running daemon (SIGHUP, as `systemctl reload` sends, and POST /v1/reload):
// an invalid file changes nothing and says why; a valid one adds, removes and changes
// peers and sinks while what stays keeps its state, counters, incident and pending alerts;
// a removed sink's pending alerts are dead-lettered with that reason; config_reloaded is
// journaled with a summary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli } from "../cli/harness.js";
import { freePort } from "../helpers/ports.js";
import { Receiver } from "../helpers/receiver.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { tcpPeer, writeDaemonConfig } from "../helpers/config-builder.js";

const TOKEN = "reload-test-token-0123456789";

interface Peer {
  name: string;
  status: string;
  missed_count: number;
  incident_id: string | null;
}
interface Row {
  sink: string;
  state: string;
  last_error: string | null;
  action: { id: string; action: string };
}

// Bounded: every request below has its own deadline, and the whole test fails (naming the
// await it was in) rather than hold the suite.
void test(
  "SIGHUP and POST /v1/reload re-read the config; what stays keeps its state",
  { timeout: 180_000 },
  async (t) => {
    const dir = tempDir(t, "wdmesh-reload-");
    const stays = await new Receiver().start();
    const removed = await new Receiver().start();
    stays.fallback = { status: 503 };
    removed.fallback = { status: 503 };
    const port = await freePort();
    const closed = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cfg = join(dir, "mesh.yaml");
    const peer = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      tcpPeer(name, closed, extra);
    const write = (peers: Array<Record<string, unknown>>, sinks: Array<[string, Receiver]>): void => {
      writeDaemonConfig(
        dir,
        {
          node: { name: "reloader", listen: port, data_dir: join(dir, "data"), api_token: "${RELOAD_TOKEN}" },
          defaults: { interval: "300ms", timeout: "200ms", missed_before_restart: 1000 },
          peers: [...peers, { name: "keep", probe: { http: { url: `${url}/health` } } }],
          alerts: sinks.map(([name, rx]) => ({ name, webhook: { url: rx.url("/hook") } })),
        },
        "mesh.yaml",
      );
    };
    write(
      [peer("flaky"), peer("gone")],
      [
        ["stays", stays],
        ["removed", removed],
      ],
    );
    const run = spawnCli(["run", "--config", cfg], { RELOAD_TOKEN: TOKEN });
    let added: Receiver | undefined;
    const get = async <T>(path: string): Promise<T> =>
      (await (await fetch(url + path, { signal: AbortSignal.timeout(10_000) })).json()) as T;
    const reload = (token?: string): Promise<Response> =>
      fetch(`${url}/v1/reload`, {
        method: "POST",
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(20_000),
      });
    try {
      await until(
        "flaky missing, alerts pending in both sinks",
        async () => {
          if (run.child.exitCode !== null) throw new Error(`wdmesh run exited: ${(await run.result).stderr}`);
          const f = await get<Peer>("/v1/peers/flaky").catch(() => null);
          const rows = await get<Row[]>("/v1/deliveries?state=pending").catch(() => []);
          return (
            (f?.missed_count ?? 0) >= 2 &&
            rows.some((r) => r.sink === "stays") &&
            rows.some((r) => r.sink === "removed")
          );
        },
        30_000,
      );
      const before = await get<Peer>("/v1/peers/flaky");
      const pendingStays = (await get<Row[]>("/v1/deliveries?state=pending&sink=stays")).map(
        (r) => r.action.id,
      );
      const pendingRemoved = (await get<Row[]>("/v1/deliveries?state=pending&sink=removed")).map(
        (r) => r.action.id,
      );

      // An invalid file: nothing changes, every problem is logged, /v1/reload answers 400 with them.
      writeFileSync(
        cfg,
        "node: { name: reloader }\npeers:\n  - name: Bad Name\n    probe: { tcp: { host: x, port: 0 } }\n",
      );
      run.child.kill("SIGHUP");
      await until("the refusal logged", () => /config reload refused/.test(run.stdout()), 15_000);
      const refusal =
        run
          .stdout()
          .split("\n")
          .find((l) => l.includes("config reload refused")) ?? "";
      assert.match(refusal, /peers\[0\]\.name/);
      assert.match(refusal, /peers\[0\]\.probe\.tcp\.port/);
      assert.equal((await reload()).status, 401, "reload needs the token");
      const bad = await reload(TOKEN);
      assert.equal(bad.status, 400);
      const badBody = (await bad.json()) as { ok: boolean; problems: Array<{ path: string }> };
      assert.equal(badBody.ok, false);
      assert.ok(badBody.problems.length >= 2, JSON.stringify(badBody));
      assert.deepEqual(
        (await get<{ peers: Peer[] }>("/v1/mesh")).peers.map((p) => p.name),
        ["flaky", "gone", "keep"],
        "an invalid file changed nothing",
      );

      // A valid file: gone removed, fresh added, flaky changed; sink removed dropped, sink added.
      added = await new Receiver().start();
      write(
        [peer("flaky", { timeout: "250ms" }), peer("fresh")],
        [
          ["stays", stays],
          ["added", added],
        ],
      );
      run.child.kill("SIGHUP");
      await until(
        "config_reloaded journaled",
        async () =>
          (await get<Array<{ action: string }>>("/v1/events?limit=1000")).some(
            (e) => e.action === "config_reloaded",
          ),
        15_000,
      );
      const events =
        await get<Array<{ action: string; reason: string; severity: string }>>("/v1/events?limit=1000");
      const reloaded = events.find((e) => e.action === "config_reloaded");
      assert.equal(reloaded?.severity, "INFO");
      assert.match(reloaded?.reason ?? "", /peers added: fresh; peers removed: gone; peers changed: flaky/);
      assert.match(reloaded?.reason ?? "", /sinks added: added; sinks removed: removed/);
      assert.deepEqual(
        (await get<{ peers: Peer[] }>("/v1/mesh")).peers.map((p) => p.name),
        ["flaky", "fresh", "keep"],
      );
      const after = await get<Peer>("/v1/peers/flaky");
      assert.equal(after.incident_id, before.incident_id, "the open incident stays");
      assert.ok(
        after.missed_count >= before.missed_count,
        `misses kept: ${before.missed_count} → ${after.missed_count}`,
      );
      assert.equal(after.status, "DEGRADED");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.ok(!/wdmesh_checks_total\{peer="gone"\}/.test(metrics), "a removed peer's series are gone");
      assert.match(metrics, /wdmesh_checks_total\{peer="fresh"\} \d/);
      assert.match(metrics, /wdmesh_deliveries_total\{sink="added",outcome="delivered"\} \d/);

      // The removed sink's pending alerts are dead-lettered with the reason; the kept sink's stay pending.
      const dead = await get<Row[]>("/v1/deliveries?state=dead&sink=removed");
      assert.deepEqual(
        dead.filter((r) => r.action.action !== "config_reload_failed").map((r) => r.action.id),
        pendingRemoved,
      );
      // The two refused reloads were journaled (HIGH) and routed to both sinks of the time.
      assert.equal(dead.filter((r) => r.action.action === "config_reload_failed").length, 2);
      for (const r of dead)
        assert.match(r.last_error ?? "", /sink "removed" was removed from the configuration/);
      const stillPending = (await get<Row[]>("/v1/deliveries?state=pending&sink=stays")).map(
        (r) => r.action.id,
      );
      assert.deepEqual(stillPending.slice(0, pendingStays.length), pendingStays);
      // ...and are delivered once their receiver answers again.
      stays.fallback = { status: 200 };
      await until(
        "the kept sink's alerts delivered",
        async () => {
          const done = (await get<Row[]>("/v1/deliveries?state=delivered&sink=stays")).map(
            (r) => r.action.id,
          );
          return pendingStays.every((id) => done.includes(id));
        },
        60_000,
      );

      // Reload through the API with nothing changed.
      const same = await reload(TOKEN);
      assert.equal(same.status, 200);
      const summary = (
        (await same.json()) as {
          summary: { peers: { added: string[]; removed: string[]; changed: string[] } };
        }
      ).summary;
      assert.deepEqual(summary.peers, { added: [], removed: [], changed: [] });
      // A no-op reload journals nothing (a burst of SIGHUPs must not flood the sinks).
      const reloadsJournaled = (await get<Array<{ action: string }>>("/v1/events?limit=1000")).filter(
        (e) => e.action === "config_reloaded",
      ).length;
      assert.equal(reloadsJournaled, 1, "only the reload that changed something is journaled");

      // A burst of 50 reloads at once is coalesced: a few reads of the file, not 50, and
      // still nothing journaled.
      const count = (): number => run.stdout().split("configuration reloaded: nothing changed").length - 1;
      const before50 = count();
      const answers = await Promise.all(Array.from({ length: 50 }, () => reload(TOKEN)));
      assert.ok(answers.every((r) => r.status === 200));
      await until("the burst logged", () => count() > before50, 10_000);
      const reads = count() - before50;
      // How many reads a burst takes depends on how the 50 requests arrive (a busy machine
      // spreads them out), so only "fewer than one per request" is checked here (without
      // coalescing it is 50); test/daemon/reload-coalesce.test.ts checks the exact count.
      assert.ok(reads >= 1 && reads < 50, `${reads} reloads for 50 requests`);
      assert.equal(
        (await get<Array<{ action: string }>>("/v1/events?limit=1000")).filter(
          (e) => e.action === "config_reloaded",
        ).length,
        1,
      );
    } finally {
      run.child.kill("SIGTERM");
      const r = await run.result;
      await stays.stop();
      await removed.stop();
      await added?.stop();
      assert.equal(r.code, 0, r.stderr);
    }
  },
);
