// Containers end to end against a real engine: Podman serving the Docker Engine API, a
// `wdmesh run` daemon in the engine's network namespace (no default route), containers
// made of the host's own binaries. One engine and one daemon for the whole file.
//   1. a container whose HEALTHCHECK turns unhealthy is restarted once, then isolated
//      (R = 1): the engine reports no network and a canary finds its address dead;
//      release reconnects its network with its alias;
//   2. a labelled container started after the node is watched (event stream), and its
//      peer goes away without an alert when the container is removed;
//   4. a reload that changes peers_from's label: the container matched before and after
//      keeps its peer (incident and counters), the one no longer matched goes without
//      an alert, the newly matched one is watched; an invalid label is refused;
//   5. a node running as an unprivileged user (nobody) on a root-owned 0600 socket: the
//      probe and a restart name the permission problem and what to do, the node keeps
//      running and holds (the stopped container is not restarted);
//   3. the engine's socket gone mid-run: the probe says so, the node keeps running and
//      holds (no restart), and takes up again when the socket is back.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { IsolateOutcome } from "../../src/act/executor.js";
import type { ActionResult } from "../../src/core/types.js";
import { CLI } from "../helpers/built-cli.js";
import { spawnTracked, stopChild, type Daemon } from "../helpers/daemon-process.js";
import { skipUnlessPodman, startPodman, type Engine } from "../helpers/podman.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const skip = skipUnlessPodman();
const TOKEN = "container-test-token-0123456789";
const PORT = 19760;
const BASE = `http://127.0.0.1:${PORT}`;

interface Entry {
  seq: number;
  peer_name: string;
  action: string;
  reason: string;
  result?: { ok: boolean; detail?: string; error?: string };
}
interface Peer {
  name: string;
  status: string;
  restart_count: number;
  last_error: string | null;
}
interface Inspect {
  State: { Running: boolean; Paused: boolean; StartedAt: string; Health?: { Status: string } };
  NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> };
}

describe("containers through Podman's Docker Engine API", { skip }, () => {
  let engine: Engine;
  let daemon: Daemon;
  let stopHealth: () => void = () => {};
  let configPath = "";
  let configText = "";

  const journal = async (): Promise<Entry[]> => {
    const j = (await engine.getJson(`${BASE}/v1/events?limit=1000`, TOKEN)) as
      Entry[] | { events?: Entry[] } | undefined;
    return Array.isArray(j) ? j : (j?.events ?? []);
  };
  const peer = async (name: string): Promise<Peer | undefined> =>
    (await engine.getJson(`${BASE}/v1/peers/${name}`, TOKEN)) as Peer | undefined;
  const inspect = async (name: string): Promise<Inspect> =>
    (await engine.api(`/containers/${name}/json`)) as Inspect;
  // A ContainerExecutor call (`expr`) run inside the engine's namespace, as the daemon's:
  // any connection it makes to a container's address (its canary) stays on this machine.
  const executorInside = async <T>(expr: string): Promise<T> => {
    const mod = pathToFileURL(join(dirname(CLI), "..", "act", "container.js")).href;
    const script = [
      `const { ContainerExecutor } = await import(${JSON.stringify(mod)});`,
      "const ex = new ContainerExecutor();",
      `const spec = (name) => ({ container: { name, engine: "podman", socket: ${JSON.stringify(engine.socket)} } });`,
      'const target = { peer: "t", effectId: "t1", attempt: 0 };',
      "const signal = new AbortController().signal;",
      `process.stdout.write(JSON.stringify(await ${expr}));`,
    ].join("\n");
    const r = await engine.runInside([process.execPath, "--input-type=module", "-e", script], 60_000);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
    engine = await startPodman();
    await engine.createNetwork("wdnet", "10.89.7.0/24");
    engine.setHealthy("web", true);
    await engine.run({ name: "web", networks: [{ name: "wdnet", aliases: ["websvc"] }], healthcheck: true });
    stopHealth = engine.healthTimer("web", 500);
    await until(
      "web healthy in the engine",
      async () => (await inspect("web")).State.Health?.Status === "healthy",
      30_000,
    );
    const dir = fileTempDir("wdm-containers-");
    configPath = join(dir, "node.yaml");
    configText = `node: { name: n1, listen: "127.0.0.1:${PORT}", data_dir: "${join(dir, "data")}", api_token: "${TOKEN}" }
defaults:
  interval: 10m
  timeout: 5s
peers:
  - name: web
    probe: { container: { name: web, engine: podman, socket: "${engine.socket}" } }
    restart: { container: { name: web, engine: podman, socket: "${engine.socket}", stop_timeout: 1s } }
    isolate: { container: { name: web, engine: podman, socket: "${engine.socket}" } }
    interval: 1s
    timeout: 800ms
    retry_interval: 1s
    missed_before_restart: 2
    restarts_before_isolate: 1
    startup_grace: 1s
    restart_backoff: { initial: 0, max: 0 }
peers_from:
  containers: { engine: podman, socket: "${engine.socket}", label: "wdmesh.watch=true" }
self_health: false
`;
    writeFileSync(configPath, configText);
    daemon = engine.spawnDaemon(configPath);
    await until("the daemon sees web HEALTHY", async () => (await peer("web"))?.status === "HEALTHY", 30_000);
  });

  after(async () => {
    stopHealth();
    daemon?.child.kill("SIGTERM");
    await engine?.stop();
  });

  test("an unhealthy container is restarted once, then isolated (verified by a canary), and release restores its network", async () => {
    engine.setHealthy("web", false);
    const isolated = await waitFor(
      "web isolated",
      async () => (await journal()).find((e) => e.peer_name === "web" && e.action === "isolate" && e.result),
      60_000,
    );
    const restarts = (await journal()).filter((e) => e.peer_name === "web" && e.action === "restart");
    assert.equal(restarts.length, 1, `exactly one restart before isolation: ${JSON.stringify(restarts)}`);
    assert.equal(restarts[0]?.result?.ok, true, JSON.stringify(restarts[0]));
    assert.match(restarts[0]?.result?.detail ?? "", /running again, started at \d{4}-/);
    assert.equal(isolated.result?.ok, true, JSON.stringify(isolated.result));
    const detail = isolated.result?.detail ?? "";
    assert.match(detail, /disconnected from network wdnet/);
    assert.match(detail, /verified: the engine reports no network left; canary: /);
    const ip = /disconnected from network wdnet \((\d+\.\d+\.\d+\.\d+)\)/.exec(detail)?.[1];
    assert.ok(ip, detail);

    // The engine's own account, and a connection from the namespace to the old address.
    assert.deepEqual(Object.keys((await inspect("web")).NetworkSettings.Networks), []);
    const curl = await engine.runInside(["curl", "-s", "-m", "2", `http://${ip}:8080/`]);
    assert.notEqual(curl.code, 0, "the former address must not answer");
    // The isolation run again (as after a crash mid-way): the container is off its networks
    // already, so the record cannot name them, and says so rather than 'nothing to undo'.
    const again = await executorInside<IsolateOutcome>('ex.isolate(spec("web"), target, signal)');
    assert.equal(again.record.container?.networksUnknown, true, JSON.stringify(again));
    assert.match(
      again.result.detail ?? "",
      /network mode \w+\): already cut off; the networks it was on are not known/,
    );

    engine.setHealthy("web", true);
    assert.ok([200, 202].includes((await engine.post(`${BASE}/v1/peers/web/release`, TOKEN)) ?? 0));
    const released = await waitFor(
      "release result",
      async () => (await journal()).find((e) => e.peer_name === "web" && e.action === "release" && e.result),
      30_000,
    );
    assert.equal(released.result?.ok, true, JSON.stringify(released.result));
    assert.match(released.result?.detail ?? "", /reconnected to network wdnet with aliases websvc/);
    const nets = (await inspect("web")).NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets), ["wdnet"]);
    assert.ok(nets.wdnet?.Aliases?.includes("websvc"), JSON.stringify(nets));
    const back = await engine.runInside(["curl", "-s", "-m", "5", `http://${nets.wdnet?.IPAddress}:8080/`]);
    assert.equal(back.stdout, "ok");
    await until("web HEALTHY again", async () => (await peer("web"))?.status === "HEALTHY", 30_000);
  });

  test("a labelled container started after the node is watched at once, and unwatched without an alert when removed", async () => {
    await engine.run({
      name: "late",
      networks: [{ name: "wdnet" }],
      labels: { "wdmesh.watch": "true", "wdmesh.interval": "1s", "wdmesh.timeout": "800ms" },
    });
    // The list is read at start and then every 10 min (the default interval): well inside
    // that, only the event stream can bring the new container.
    await until("late watched and HEALTHY", async () => (await peer("late"))?.status === "HEALTHY", 60_000);

    const r = await engine.podman(["rm", "-f", "-t", "0", "late"]);
    assert.equal(r.code, 0, r.stderr);
    await until("late's peer gone", async () => (await peer("late")) === undefined, 20_000);
    const alerts = (await journal()).filter((e) => e.peer_name === "late" && e.action !== "recovered");
    assert.deepEqual(alerts, [], "no alert for a container that was removed");
    assert.match(daemon.output(), /container gone; peer removed/);
  });

  test("the engine's socket gone mid-run: the probe names it, the node keeps running and holds", async () => {
    const before = await peer("web");
    assert.equal(before?.status, "HEALTHY");
    const aside = `${engine.socket}.aside`;
    renameSync(engine.socket, aside);
    try {
      const p = await waitFor(
        "web's probe failing on the missing socket",
        async () => {
          const p = await peer("web");
          return p?.last_error?.includes("does not exist") ? p : undefined;
        },
        20_000,
      );
      assert.match(p.last_error ?? "", /podman engine socket .* does not exist/);
      // Inconclusive, not a miss: nothing escalates while the engine cannot be asked.
      assert.equal(p.status, "HEALTHY");
      assert.equal(p.restart_count, before?.restart_count);
      assert.equal(daemon.child.exitCode, null, "the node keeps running");
    } finally {
      renameSync(aside, engine.socket);
    }
    await until(
      "web probed through the engine again",
      async () => {
        const p = await peer("web");
        return p?.status === "HEALTHY" && !(p.last_error ?? "").includes("does not exist");
      },
      20_000,
    );
    const after = (await journal()).filter((e) => e.peer_name === "web" && e.action === "restart");
    assert.equal(after.length, 1, "no restart while the engine could not be asked");
  });

  test("a container on the host's network is paused (and says why); release unpauses it", async () => {
    await engine.run({ name: "hostnet", hostNetwork: true, port: 8090 });
    const iso = await executorInside<IsolateOutcome>('ex.isolate(spec("hostnet"), target, signal)');
    assert.equal(iso.result.ok, true, JSON.stringify(iso.result));
    assert.match(iso.result.detail ?? "", /shares the host's network \(network mode host\)/);
    assert.match(iso.result.detail ?? "", /paused container hostnet \(isolation by pause\)/);
    assert.deepEqual(iso.record.applied, ["pause"]);
    assert.equal((await inspect("hostnet")).State.Paused, true);
    const rel = await executorInside<ActionResult>(
      `ex.release(spec("hostnet"), ${JSON.stringify(iso.record)}, target, signal)`,
    );
    assert.equal(rel.ok, true, JSON.stringify(rel));
    const s = (await inspect("hostnet")).State;
    assert.equal(s.Paused, false);
    assert.equal(s.Running, true);
  });

  test("a reload that changes peers_from's label keeps the containers matched before and after, drops the others without an alert", async () => {
    const slow = {
      "wdmesh.interval": "1s",
      "wdmesh.timeout": "800ms",
      "wdmesh.missed_before_restart": "1000",
    };
    await engine.run({ name: "keep", labels: { "wdmesh.watch": "true", "wdmesh.tier": "b", ...slow } });
    await engine.run({ name: "drop", labels: { "wdmesh.watch": "true", ...slow } });
    await engine.run({ name: "gain", labels: { "wdmesh.tier": "b", ...slow } });
    await until(
      "keep and drop watched",
      async () => !!(await peer("keep")) && !!(await peer("drop")),
      60_000,
    );
    assert.equal(await peer("gain"), undefined);
    // keep stops: misses pile up (no restart before 1000), an incident opens.
    assert.equal((await engine.podman(["stop", "-t", "0", "keep"])).code, 0);
    const down = await waitFor(
      "keep missing in an incident",
      async () => {
        const p = (await peer("keep")) as
          (Peer & { incident_id: string | null; missed_count: number }) | undefined;
        return p?.incident_id && p.missed_count >= 1 ? p : undefined;
      },
      30_000,
    );

    const reloadWith = async (text: string): Promise<number | null> => {
      writeFileSync(configPath, text);
      return engine.post(`${BASE}/v1/reload`, TOKEN);
    };
    // An invalid label is refused like any bad file: nothing changes.
    assert.equal(await reloadWith(configText.replace('label: "wdmesh.watch=true"', 'label: "no good"')), 400);
    assert.ok(await peer("drop"), "a refused reload keeps the discovery in force");

    const next = configText.replace('label: "wdmesh.watch=true"', 'label: "wdmesh.tier=b"');
    assert.notEqual(next, configText);
    assert.equal(await reloadWith(next), 200);
    await until("gain watched", async () => (await peer("gain")) !== undefined, 30_000);
    await until("drop's peer gone", async () => (await peer("drop")) === undefined, 30_000);
    const kept = (await peer("keep")) as Peer & { incident_id: string | null; missed_count: number };
    assert.equal(kept.incident_id, down.incident_id, "keep kept its incident across the reload");
    assert.ok(kept.missed_count >= down.missed_count, JSON.stringify(kept));
    const about = (await journal()).filter(
      (e) => (e.peer_name === "drop" || e.peer_name === "gain") && e.action !== "recovered",
    );
    assert.deepEqual(about, [], "no alert for the swap");
    assert.ok(
      (await journal()).some((e) => e.action === "config_reloaded" && /peers_from changed/.test(e.reason)),
    );
  });

  test("a node running as nobody on a root-owned 0600 socket: the probe and a restart name the permission problem, the node holds", async () => {
    await engine.run({ name: "locked", labels: {} });
    assert.equal((await engine.podman(["stop", "-t", "0", "locked"])).code, 0);
    const NOBODY = 65534;
    const dir = fileTempDir("wdm-containers-nobody-");
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "data"));
    chownSync(join(dir, "data"), NOBODY, NOBODY);
    // The engine's directory is traversable; the socket itself is root's alone.
    const dirMode = statSync(engine.dir).mode & 0o777;
    const sockStat = statSync(engine.socket);
    chmodSync(engine.dir, 0o711);
    chownSync(engine.socket, 0, 0);
    chmodSync(engine.socket, 0o600);
    const port = PORT + 1;
    const config = join(dir, "node.yaml");
    const ref = `name: locked, engine: podman, socket: "${engine.socket}"`;
    writeFileSync(
      config,
      `node: { name: n2, listen: "127.0.0.1:${port}", data_dir: "${join(dir, "data")}", api_token: "${TOKEN}" }
peers:
  - name: locked
    probe: { container: { ${ref} } }
    restart: { container: { ${ref}, stop_timeout: 1s } }
    isolate: none
    interval: 1s
    timeout: 800ms
    retry_interval: 1s
    missed_before_restart: 1
    startup_grace: 0s
self_health: false
`,
    );
    const asNobody = [
      "ip",
      "netns",
      "exec",
      engine.ns,
      "setpriv",
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
    ];
    const node = spawnTracked([...asNobody, process.execPath, CLI, "run", "--config", config]);
    try {
      const url = `http://127.0.0.1:${port}/v1/peers/locked`;
      const seen = await waitFor(
        "locked's probe failing on the socket's permissions",
        async () => {
          const p = (await engine.getJson(url, TOKEN)) as Peer | undefined;
          return p?.last_error?.includes("permission denied") ? p : undefined;
        },
        30_000,
      );
      const sock = engine.socket.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(
        seen.last_error ?? "",
        new RegExp(`permission denied on the podman engine socket ${sock}`),
      );
      assert.match(seen.last_error ?? "", /owner uid 0, group gid 0, mode 0600/);
      assert.match(
        seen.last_error ?? "",
        /add the user this node runs as \(uid 65534\) to the socket's group/,
      );
      assert.match(seen.last_error ?? "", /root on the host/);
      // Inconclusive: the stopped container would be a miss, but the node cannot see it and holds.
      const again = (await engine.getJson(url, TOKEN)) as Peer;
      assert.equal(again.restart_count, 0, JSON.stringify(again));
      assert.notEqual(again.status, "RESTARTING");
      assert.equal(node.child.exitCode, null, `the node keeps running: ${node.output()}`);
      assert.equal((await inspect("locked")).State.Running, false, "nothing restarted it");

      // A restart asked by a process of the same user: a result naming the problem, not a throw.
      const mod = pathToFileURL(join(dirname(CLI), "..", "act", "container.js")).href;
      const script = [
        `const { ContainerExecutor } = await import(${JSON.stringify(mod)});`,
        `const spec = ${JSON.stringify({ container: { name: "locked", engine: "podman", socket: engine.socket } })};`,
        'const r = await new ContainerExecutor().restart(spec, { peer: "locked", effectId: "e1", attempt: 0 }, new AbortController().signal);',
        "process.stdout.write(JSON.stringify(r));",
      ].join("\n");
      const r = await engine.runInside(
        [
          "setpriv",
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          "--clear-groups",
          process.execPath,
          "--input-type=module",
          "-e",
          script,
        ],
        60_000,
      );
      assert.equal(r.code, 0, r.stderr);
      const restart = JSON.parse(r.stdout) as ActionResult;
      assert.equal(restart.ok, false);
      assert.match(
        restart.error ?? "",
        /permission denied on the podman engine socket .*to the socket's group.*root on the host/,
      );
    } finally {
      await stopChild(node.child, "SIGTERM");
      chmodSync(engine.socket, sockStat.mode & 0o777);
      chownSync(engine.socket, sockStat.uid, sockStat.gid);
      chmodSync(engine.dir, dirMode);
    }
  });
});
