// `wdmesh demo --containers` as a user runs it, against the real Podman service of the
// test fixture (its own network namespace, no default route): the demo finds the engine
// on --socket, runs its two labelled containers from a skeleton image of the host's /usr,
// kills one and breaks the other's HEALTHCHECK, and the node restarts the first and
// isolates the second (canary verified), every alert signed; then nothing of the demo is
// left in the engine. With no engine it exits 1 saying what to start, never a stack; when
// the engine never runs the HEALTHCHECK it says so.
//
// What belongs to the fixture, not to the demo: Podman here runs HEALTHCHECKs only when
// asked (no systemd timers), so the test plays the timer; and this machine's engine
// cannot set rlimits or a pids cgroup, so the demo gets `--host-config` (an option
// documented for constrained hosts) with two ordinary HostConfig fields.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLI } from "../helpers/built-cli.js";
import { spawnTracked, type Daemon } from "../helpers/daemon-process.js";
import { skipUnlessPodman, startPodman, type Engine } from "../helpers/podman.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const skip = skipUnlessPodman();

async function exitOf(d: Daemon, ms: number): Promise<number | null> {
  await until("the demo to exit", () => d.child.exitCode !== null || d.child.signalCode !== null, ms).catch(
    (e: unknown) => {
      d.child.kill("SIGKILL");
      throw new Error(`${String(e)}\n--- demo output ---\n${d.output()}`);
    },
  );
  return d.child.exitCode;
}

void test("wdmesh demo --containers with no engine: exit 1, what to start, no stack", async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const missing = join(fileTempDir("wdm-demo-noengine-"), "engine.sock");
  const d = spawnTracked([process.execPath, CLI, "demo", "--containers", "--socket", missing]);
  assert.equal(await exitOf(d, 30_000), 1, d.output());
  const out = d.output();
  assert.match(
    out,
    new RegExp(
      `no container engine answers: ${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: does not exist`,
    ),
  );
  assert.match(out, /podman system service/);
  assert.match(out, /systemctl start docker/);
  assert.doesNotMatch(out, /^\s+at /m, "no stack trace");
});

describe("wdmesh demo --containers against Podman", { skip }, () => {
  let engine: Engine;
  let timer: NodeJS.Timeout | undefined;
  let playTimer = false;

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
    engine = await startPodman();
    // The systemd timer Podman would use: run the HEALTHCHECK of the demo's containers.
    let busy = false;
    timer = setInterval(() => {
      if (busy || !playTimer) return;
      busy = true;
      void (async () => {
        const ps = await engine.podman(
          ["ps", "--filter", "label=wdmesh.demo", "--format", "{{.Names}}"],
          20_000,
        );
        for (const name of ps.stdout.split("\n").filter((n) => n.includes("unhealthy"))) {
          await engine.podman(["healthcheck", "run", name], 20_000);
        }
      })().finally(() => (busy = false));
    }, 700);
  });

  after(async () => {
    if (timer) clearInterval(timer);
    await engine?.stop();
  });

  const demo = (forDuration: string, hostConfig = '{"Privileged":true,"PidsLimit":0}'): Daemon =>
    spawnTracked([
      "ip",
      "netns",
      "exec",
      engine.ns,
      process.execPath,
      CLI,
      "demo",
      "--containers",
      "--socket",
      engine.socket,
      "--host-config",
      hostConfig,
      "--listen",
      "127.0.0.1:19770",
      "--status-every",
      "1m",
      "--for",
      forDuration,
    ]);

  test("on this constrained host without --host-config: the engine's refusal, what to try, exit 1, nothing left", async () => {
    const d = demo("60s", "{}");
    const code = await exitOf(d, 120_000);
    const out = d.output();
    assert.equal(code, 1, out);
    assert.match(
      out,
      /starting container wdmesh-demo-killed-\w+: podman engine: POST \/containers\/wdmesh-demo-killed-\w+\/start → 500: .*OCI permission denied/,
    );
    assert.match(out, /hint: .*--image.*--host-config/);
    assert.doesNotMatch(out, /^\s+at /m, "no stack trace");
    assert.deepEqual(await engine.api(`/containers/json?all=true`), []);
    assert.deepEqual(await engine.api("/images/json"), []);
  });

  test("when the engine never runs the HEALTHCHECK (Podman without systemd), the demo says so, exits 1 and cleans up", async () => {
    playTimer = false;
    const d = demo("15s");
    const code = await exitOf(d, 120_000);
    const out = d.output();
    assert.equal(code, 1, out);
    assert.match(
      out,
      /demo-unhealthy: UNKNOWN\); the engine never ran the HEALTHCHECK \(Podman runs it from systemd timers/,
    );
    assert.match(out, /removed the demo's containers, network and image/);
    assert.deepEqual(await engine.api(`/containers/json?all=true`), []);
  });

  test("restarts the killed container, isolates the unhealthy one (canary verified), signs every alert, cleans up", async () => {
    playTimer = true;
    const d = demo("150s");
    const code = await exitOf(d, 200_000);
    const out = d.output();
    assert.equal(code, 0, out);
    assert.match(out, /Podman Engine \S+ on /);
    assert.match(out, /demo: killed wdmesh-demo-killed-\w+ with SIGKILL/);
    assert.match(out, /signature ok\) HIGH\s+restart\s+demo-killed: .* → ok/);
    assert.match(out, /signature ok\) INFO\s+recovered\s+demo-killed/);
    assert.match(out, /signature ok\) CRITICAL isolate\s+demo-unhealthy: .* → ok/);
    assert.doesNotMatch(out, /BAD SIGNATURE/);
    assert.match(
      out,
      /demo-killed restarted: POST \/containers\/wdmesh-demo-killed-\w+\/restart.*running again/,
    );
    assert.match(
      out,
      /demo-unhealthy isolated: disconnected from network wdmesh-demo-\w+ .*verified: the engine reports no network left; canary: .* answered before .*, nothing answers now/,
    );
    assert.match(out, /removed the demo's containers, network and image/);
    // Nothing of the demo is left in the engine.
    const containers = (await engine.api(`/containers/json?all=true`)) as unknown[];
    assert.deepEqual(containers, []);
    const networks = (await engine.api("/networks")) as Array<{ Name: string }>;
    assert.deepEqual(
      networks.map((n) => n.Name).filter((n) => n.startsWith("wdmesh-demo")),
      [],
    );
    assert.deepEqual(await engine.api("/images/json"), []);
  });
});
