// Two `wdmesh run` nodes on one host, one container engine (Podman's Docker Engine API),
// confirm: majority: when the container turns unhealthy, both nodes see it, and it is
// restarted exactly once (by its owner), as the engine's own event log confirms.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI } from "../helpers/built-cli.js";
import type { Daemon } from "../helpers/daemon-process.js";
import { LOOSE_SELF_HEALTH_YAML } from "../helpers/loose-self-health.js";
import { membersSettled } from "../helpers/mesh-doc.js";
import { skipUnlessPodman, startPodman, type Engine } from "../helpers/podman.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const skip = skipUnlessPodman();
const KEY = "mesh-key-for-the-container-test-0123456789";
const NODES = ["n1", "n2"] as const;
const PORTS = [19761, 19762];
const INTERVAL_MS = 1000;

interface Entry {
  peer_name: string;
  action: string;
  node: string;
  result?: { ok: boolean; detail?: string };
}

describe("two nodes, confirm: majority, one container", { skip }, () => {
  let engine: Engine;
  const daemons: Daemon[] = [];
  let stopHealth: () => void = () => {};
  const url = (i: number): string => `http://127.0.0.1:${PORTS[i]}`;
  const journal = async (i: number): Promise<Entry[]> => {
    const j = (await engine.getJson(`${url(i)}/v1/events?limit=1000`)) as Entry[] | undefined;
    return Array.isArray(j) ? j : [];
  };

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
    engine = await startPodman();
    await engine.createNetwork("meshnet", "10.89.8.0/24");
    engine.setHealthy("shared", true);
    await engine.run({ name: "shared", networks: [{ name: "meshnet" }], healthcheck: true });
    stopHealth = engine.healthTimer("shared", 500);
    const dir = fileTempDir("wdm-containers-mesh-");
    const c = `{ name: shared, engine: podman, socket: "${engine.socket}" }`;
    for (const [i, name] of NODES.entries()) {
      const members = NODES.flatMap((m, j) => (j === i ? [] : [`    - { name: ${m}, url: "${url(j)}" }`]));
      const config = join(dir, `${name}.yaml`);
      writeFileSync(
        config,
        `node: { name: ${name}, listen: "127.0.0.1:${PORTS[i]}", data_dir: "${join(dir, name)}" }
defaults:
  interval: ${INTERVAL_MS}ms
  timeout: 800ms
  retry_interval: ${INTERVAL_MS}ms
  missed_before_restart: 2
  restarts_before_isolate: 5
  startup_grace: 2s
  restart_backoff: { initial: 1s, max: 2s }
peers:
  - name: shared
    probe: { container: ${c} }
    restart: { container: { name: shared, engine: podman, socket: "${engine.socket}", stop_timeout: 1s } }
    isolate: none
mesh:
  key: "${KEY}"
  confirm: majority
  members:
${members.join("\n")}
${LOOSE_SELF_HEALTH_YAML}
`,
      );
      daemons.push(engine.spawnDaemon(config));
    }
    for (const i of [0, 1]) {
      await until(
        `${NODES[i]}: mesh settled and shared HEALTHY`,
        async () =>
          membersSettled(await engine.getJson(`${url(i)}/v1/mesh`), 1, INTERVAL_MS) &&
          ((await engine.getJson(`${url(i)}/v1/peers/shared`)) as { status?: string } | undefined)?.status ===
            "HEALTHY",
        60_000,
      );
    }
  });

  after(async () => {
    stopHealth();
    for (const d of daemons) d.child.kill("SIGTERM");
    await engine?.stop();
  });

  test("an unhealthy container is restarted exactly once", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    engine.setHealthy("shared", false);
    const first = await waitFor(
      "a restart of shared by either node",
      async () => {
        for (const i of [0, 1]) {
          const r = (await journal(i)).find(
            (e) => e.peer_name === "shared" && e.action === "restart" && e.result,
          );
          if (r) return r;
        }
        return undefined;
      },
      60_000,
    );
    assert.equal(first.result?.ok, true, JSON.stringify(first));
    engine.setHealthy("shared", true);
    // Both nodes see it recovered: the incident is over everywhere, so no further restart is due.
    for (const i of [0, 1]) {
      await until(
        `${NODES[i]} sees shared HEALTHY again`,
        async () =>
          ((await engine.getJson(`${url(i)}/v1/peers/shared`)) as { status?: string } | undefined)?.status ===
          "HEALTHY",
        60_000,
      );
    }
    const restarts = [...(await journal(0)), ...(await journal(1))].filter(
      (e) => e.peer_name === "shared" && e.action === "restart",
    );
    assert.equal(restarts.length, 1, `one restart in both journals: ${JSON.stringify(restarts)}`);
    // The engine's own account: one restart of the container since the failure began.
    const ev = await engine.podman([
      "events",
      "--stream=false",
      "--since",
      String(since),
      "--filter",
      "container=shared",
      "--filter",
      "event=restart",
      "--format",
      "{{.Status}}",
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(
      ev.stdout
        .trim()
        .split("\n")
        .filter((l) => l !== "").length,
      1,
      ev.stdout,
    );
  });
});
