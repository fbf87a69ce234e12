// Two real `wdmesh run` daemons on two hosts (h1, h2) coordinated by a REAL 3-member etcd
// cluster: the agent on h1 is restarted exactly once, by h1's node, with a fencing token
// (h2's node only confirms); with all of etcd down the restart is held (remediation_held
// names etcd) while the alert is still delivered, and it runs once etcd is back; h2's node
// killed: exactly one host_unreachable for h2 and its fence run once, only after h2's lease
// expired. /v1/fleet, /v1/sd and `wdmesh fleet status` show the fleet from either node, and
// a real Prometheus discovers and scrapes both nodes through /v1/sd; every expression of the
// fleet Grafana dashboard returns data from them; the web dashboard in Chromium shows the
// fleet and, with etcd gone, that steps are held.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { LEDGER_DEFAULTS } from "../../src/core/defaults.js";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { chromiumMissing, launchChromium, skipWithoutChromium } from "../helpers/chromium.js";
import { spawnDaemon, spawnTracked, stopChild, type Daemon } from "../helpers/daemon-process.js";
import { lines } from "../helpers/file-lines.js";
import { EtcdCluster, etcdSkipReason } from "../helpers/etcd-cluster.js";
import { FILE_LEDGER_DIR } from "../helpers/ledger-dir.js";
import { freePort } from "../helpers/ports.js";
import { Receiver } from "../helpers/receiver.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const skip = etcdSkipReason();

interface Entry {
  action: string;
  peer_name: string;
  reason: string;
  node: string;
  incident_id: string | null;
  timestamp: string;
}

describe("a fleet of two daemons on a real 3-member etcd", { skip, timeout: 300_000 }, () => {
  let cluster: EtcdCluster;
  let dir: string;
  let a: Daemon;
  let b: Daemon;
  let urlA: string;
  let urlB: string;
  let rx: Receiver;
  const up = (): string => join(dir, "up");
  const restarts = (): string => join(dir, "restarts");
  const fences = (): string => join(dir, "fences");

  const get = async <T>(url: string, path: string): Promise<T> => {
    const r = await fetch(url + path);
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return (await r.json()) as T;
  };
  const events = (url: string): Promise<Entry[]> => get<Entry[]>(url, "/v1/events?limit=1000");
  const peer = (url: string): Promise<{ status: string }> => get(url, "/v1/peers/agent");

  function config(name: string, host: string, port: number, restartTag: string, alertUrl?: string): string {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(
      f,
      [
        "node:",
        `  name: ${name}`,
        `  host: ${host}`,
        `  listen: 127.0.0.1:${port}`,
        `  data_dir: ${join(dir, `data-${name}`)}`,
        "defaults: { interval: 500ms, timeout: 400ms, missed_before_restart: 2, restart_backoff: { initial: 500ms, max: 1s } }",
        "peers:",
        "  - name: agent",
        "    host: h1",
        `    probe: { exec: { argv: [/usr/bin/test, -f, ${up()}] } }`,
        `    restart: { command: { argv: [/bin/sh, -c, 'echo "${restartTag} $WDMESH_FENCING_TOKEN" >> ${restarts()}; touch ${up()}'] } }`,
        "    isolate: none",
        "coordination:",
        `  etcd: { endpoints: [${cluster.endpoints.join(", ")}], prefix: /wdmesh-it, lease_ttl: 6s, keepalive_interval: 1s, request_timeout: 2s }`,
        "hosts:",
        `  - { name: h2, fence: { command: { argv: [/bin/sh, -c, 'echo "$WDMESH_PEER $WDMESH_FENCING_TOKEN" >> ${fences()}'] } } }`,
        ...(alertUrl
          ? ["alerts:", `  - { name: hook, webhook: { url: "${alertUrl}" }, min_severity: INFO }`]
          : []),
        "",
      ].join("\n"),
    );
    return f;
  }

  before(async () => {
    cluster = await EtcdCluster.start(3);
    dir = fileTempDir("wdmesh-fleet-");
    writeFileSync(up(), "");
    rx = await new Receiver().start();
    const [pa, pb] = [await freePort(), await freePort()];
    urlA = `http://127.0.0.1:${pa}`;
    urlB = `http://127.0.0.1:${pb}`;
    a = spawnDaemon(config("node-a", "h1", pa, "A", rx.url("/hook")));
    b = spawnDaemon(config("node-b", "h2", pb, "B"));
  });

  after(async () => {
    await rx?.stop();
    await cluster?.stopAll();
  });

  test("both nodes see the fleet: /v1/fleet, /v1/sd and wdmesh fleet status", async (t) => {
    if (!haveBuiltCli(t)) return;
    const fleet = await waitFor(
      "node-a sees node-a and node-b in etcd",
      async () => {
        const f = await get<{ members: { node: string; host: string }[]; etcd: string }>(urlA, "/v1/fleet");
        return f.members.length === 2 ? f : undefined;
      },
      60_000,
      { retryErrors: true, everyMs: 250 },
    );
    assert.equal(fleet.etcd, "ok");
    assert.deepEqual(
      fleet.members.map((m) => [m.node, m.host]),
      [
        ["node-a", "h1"],
        ["node-b", "h2"],
      ],
    );
    const sd = await get<{ targets: string[]; labels: Record<string, string> }[]>(urlB, "/v1/sd");
    assert.deepEqual(
      sd
        .map((g) => [g.targets[0], g.labels.wdmesh_node, g.labels.wdmesh_host])
        .sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
      [
        [new URL(urlA).host, "node-a", "h1"],
        [new URL(urlB).host, "node-b", "h2"],
      ],
    );
    const cli = spawnSync(process.execPath, [CLI, "fleet", "status", "--url", urlB], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /fleet seen from node-b \(host h2\): etcd ok/);
    assert.match(cli.stdout, /h1\s+UP\s+node-a/);
    assert.match(cli.stdout, /h2\s+UP\s+node-b/);
  });

  test("a real Prometheus finds both nodes through /v1/sd (http_sd) and scrapes them", async (t) => {
    const have = (cmd: string): boolean => spawnSync(cmd, ["--version"]).status === 0;
    if (!have("prometheus") || !have("promtool")) {
      if (process.env.CI) assert.fail("prometheus/promtool not found: install the Debian package prometheus");
      t.skip("prometheus/promtool not found (Debian package prometheus)");
      return;
    }
    const example = fileURLToPath(new URL("../../examples/prometheus/fleet-sd.yml", import.meta.url));
    const check = spawnSync("promtool", ["check", "config", example], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const promDir = join(dir, "prom");
    mkdirSync(promDir);
    writeFileSync(
      join(promDir, "prometheus.yml"),
      [
        "global: { scrape_interval: 1s }",
        "scrape_configs:",
        "  - job_name: wdmesh",
        "    http_sd_configs:",
        `      - { url: "${urlA}/v1/sd", refresh_interval: 1s }`,
        "",
      ].join("\n"),
    );
    const promPort = await freePort();
    const prom = spawnTracked([
      "prometheus",
      `--config.file=${join(promDir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(promDir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    try {
      const q = async (
        expr: string,
      ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
        const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const j = (await r.json()) as {
          data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return j.data?.result ?? [];
      };
      const upSeries = await waitFor(
        "Prometheus scraping both nodes found through /v1/sd",
        async () => {
          const r = await q('up{job="wdmesh"} == 1');
          return r.length === 2 ? r : undefined;
        },
        90_000,
        { retryErrors: true, everyMs: 500 },
      );
      assert.deepEqual(upSeries.map((x) => [x.metric.wdmesh_node, x.metric.wdmesh_host]).sort(), [
        ["node-a", "h1"],
        ["node-b", "h2"],
      ]);
      await until(
        "wdmesh_fleet_members is 2 on both nodes",
        async () => (await q("wdmesh_fleet_members == 2")).length === 2,
        60_000,
        {
          retryErrors: true,
        },
      );
      // Every expression of the fleet dashboard returns data from these two nodes.
      const dashboard = JSON.parse(
        readFileSync(
          fileURLToPath(new URL("../../examples/grafana/wdmesh-fleet.json", import.meta.url)),
          "utf8",
        ),
      ) as { panels: { title: string; targets: { expr: string }[] }[] };
      const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => ({ title: p.title, expr: x.expr })));
      assert.ok(exprs.length >= 9, `found ${exprs.length} expressions`);
      const pending = new Set(exprs.map((e) => e.expr));
      await until(
        "every fleet dashboard expression to return data",
        async () => {
          for (const e of [...pending]) if ((await q(e)).length > 0) pending.delete(e);
          return pending.size === 0;
        },
        60_000,
        { retryErrors: true, everyMs: 1_000 },
      ).catch(() =>
        assert.fail(
          `without data: ${exprs
            .filter((e) => pending.has(e.expr))
            .map((e) => `panel "${e.title}": ${e.expr}`)
            .join("; ")}`,
        ),
      );
    } finally {
      await stopChild(prom.child, "SIGTERM");
    }
  });

  test(
    "the dashboard in Chromium shows the fleet, and says when etcd is gone that steps are held",
    { skip: skipWithoutChromium },
    async () => {
      if (chromiumMissing) assert.fail(chromiumMissing);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(urlA);
        const fleetText = async (): Promise<string> =>
          (await page.locator("#fleet").isVisible()) ? await page.locator("#fleet").innerText() : "";
        await until(
          "the Fleet section lists both hosts with their nodes, etcd ok",
          async () => {
            const text = await fleetText();
            return /h1\s+node-a/.test(text) && /h2\s+node-b/.test(text) && /etcd ok/.test(text);
          },
          30_000,
        ).catch(async (e: Error) => assert.fail(`${e.message}: ${await fleetText()}`));
        await cluster.stopAll();
        await until(
          "the Fleet section says steps are held, naming etcd",
          async () => {
            const state = await page.locator("#fleet-state").innerText();
            return /steps held: .*etcd/.test(state);
          },
          30_000,
        ).catch(async (e: Error) => assert.fail(`${e.message}: ${await fleetText()}`));
        await cluster.startAll();
        await until("etcd ok again", async () => /etcd ok/.test(await fleetText()), 60_000);
      } finally {
        await browser.close();
        await cluster.startAll();
      }
    },
  );

  test("the agent on h1 killed: restarted exactly once, by h1's node, with a fencing token", async () => {
    await until(
      "both nodes see the agent healthy",
      async () => (await peer(urlA)).status === "HEALTHY" && (await peer(urlB)).status === "HEALTHY",
      30_000,
      { retryErrors: true },
    );
    rmSync(up());
    await until("the agent restarted", () => existsSync(up()) && lines(restarts()).length > 0, 60_000);
    await until(
      "both nodes see it healthy again",
      async () => (await peer(urlA)).status === "HEALTHY" && (await peer(urlB)).status === "HEALTHY",
      30_000,
    );
    const done = lines(restarts());
    assert.equal(done.length, 1, done.join("\n"));
    assert.match(done[0]!, /^A \d+$/, "by h1's node, with a token");
    // The host's step ledger took the step with that token (it refuses an older one next).
    const db = new Database(join(FILE_LEDGER_DIR, LEDGER_DEFAULTS.fileName), { readonly: true });
    try {
      const row = db.prepare("SELECT external FROM peers WHERE peer = 'agent'").get() as
        { external: number | null } | undefined;
      assert.equal(String(row?.external), done[0]!.split(" ")[1], "the ledger holds the step's etcd token");
    } finally {
      db.close();
    }
    const eb = await events(urlB);
    assert.ok(!eb.some((e) => e.action === "restart"), "h2's node only confirmed");
  });

  test("all of etcd down: the restart is held (naming etcd), the alert still goes out; it runs when etcd returns", async () => {
    await cluster.stopAll();
    await until(
      "node-a holds its steps",
      async () => (await get<{ held: string | null }>(urlA, "/v1/fleet")).held !== null,
      30_000,
    );
    rmSync(up());
    const held = await waitFor(
      "remediation_held naming etcd",
      async () => (await events(urlA)).find((e) => e.action === "remediation_held" && /etcd/.test(e.reason)),
      60_000,
    );
    assert.equal(held.peer_name, "agent");
    await until(
      "the held alert was delivered",
      () => rx.requests.some((r) => r.body.includes('"remediation_held"')),
      30_000,
    );
    assert.equal(lines(restarts()).length, 1, "no restart without a token");
    const metrics = await (await fetch(`${urlA}/metrics`)).text();
    assert.match(
      metrics,
      /^wdmesh_remediation_held_total\{peer="agent"\} [1-9]/m,
      "the held step is counted",
    );
    await cluster.startAll();
    await until(
      "restarted once etcd is back",
      () => lines(restarts()).length === 2 && existsSync(up()),
      90_000,
    );
    const [first, second] = lines(restarts()).map((l) => BigInt(l.split(" ")[1]!));
    assert.ok(second! > first!, "a newer token");
  });

  test("h2's node killed: one host_unreachable for h2 and its fence run once, after h2's lease expired", async () => {
    await until(
      "node-a sees node-b again",
      async () => (await get<{ members: unknown[] }>(urlA, "/v1/fleet")).members.length === 2,
      60_000,
      { retryErrors: true },
    );
    assert.deepEqual(lines(fences()), [], "no fence while h2's node holds a lease");
    const killedAt = Date.now();
    await stopChild(b.child, "SIGKILL");
    const down = await waitFor(
      "host_unreachable for h2",
      async () => (await events(urlA)).find((e) => e.action === "host_unreachable" && e.peer_name === "h2"),
      60_000,
    );
    assert.ok(Date.parse(down.timestamp) - killedAt >= 6_000 - 1_500, "only once h2's lease had expired");
    await until("the fence ran", () => lines(fences()).length > 0, 30_000);
    const fenced = lines(fences());
    assert.equal(fenced.length, 1);
    assert.match(fenced[0]!, /^h2 \d+$/);
    // The fence's command writes its line before the node journals its result.
    const ea = await waitFor(
      "the fence journaled",
      async () => {
        const all = await events(urlA);
        return all.some((e) => e.action === "fence") ? all : undefined;
      },
      30_000,
    );
    assert.equal(ea.filter((e) => e.action === "host_unreachable").length, 1);
    assert.equal(ea.filter((e) => e.action === "fence").length, 1);
    assert.match(down.incident_id ?? "", /^h2@\d+$/);
    await stopChild(a.child, "SIGTERM");
  });
});
