// The seed's scenarios that involve several monitors, in the seed's own shape: three
// agent processes that embed Monitor (examples/embedded-agent/agent.mjs) and each
// watch the same workers. The seed restarted a dead worker once per watching agent;
// the mesh makes every step happen once across all of them. Each agent's restart and
// isolate commands append "STEP PEER ATTEMPT AGENT" to one shared file.
//   - A dead worker (seed 4 and 5: K misses → restart, R restarts → isolate): across
//     all agents, restart attempts 1..R exactly once each, then exactly one isolate.
//   - A worker that answers 200, then 503, then 200 (seed 6): every agent sees
//     HEALTHY → DEGRADED → HEALTHY, and nobody restarts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { freePorts } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { LOOSE_SELF_HEALTH } from "../helpers/loose-self-health.js";

const AGENT_JS = fileURLToPath(new URL("../../examples/embedded-agent/agent.mjs", import.meta.url));
const KEY = "seed-scenarios-mesh-key-0123456789";
const AGENTS = ["agent-a", "agent-b", "agent-c"];
// Probe deadlines long enough that a starved machine (the suite beside busy loops) does
// not turn the blip's good answers into timeouts.
const INTERVAL_MS = 1_000;
const K = 2;
const R = 2;

test("seed scenarios with several monitors: one step across all agents, no restart for a blip", async (t) => {
  // The agents import "watchdog-mesh", which resolves to this package's dist/.
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-seed-mesh-");
  const stepsFile = join(dir, "steps");
  const steps = (): string[] =>
    existsSync(stepsFile) ? readFileSync(stepsFile, "utf8").split("\n").filter(Boolean) : [];
  const children: ChildProcess[] = [];
  const output = new Map<string, string>();
  const diagnostics = () =>
    [...output].map(([n, o]) => `--- ${n}:\n${o.split("\n").slice(-20).join("\n")}`).join("\n") +
    `\nsteps:\n${steps().join("\n")}`;
  // The blipping worker, at /health/AGENT: once armed, it answers 503 to the next
  // probe of each agent, then 200 again (the seed's 200 → 503 → 200, per agent).
  const blipDue = new Set<string>();
  const blipper: Server = createServer((req, res) => {
    const agent = (req.url ?? "").split("/")[2] ?? "";
    const down = blipDue.delete(agent);
    res.writeHead(down ? 503 : 200).end(down ? "down" : "ok");
  });
  try {
    await new Promise<void>((r) => blipper.listen(0, "127.0.0.1", r));
    const blipUrl = `http://127.0.0.1:${(blipper.address() as { port: number }).port}/health`;
    // One batch, so the dead worker's port is never one an agent then listens on.
    const [deadPort, ...ports] = await freePorts(AGENTS.length + 1);
    const deadUrl = `http://127.0.0.1:${deadPort}/health`; // nothing listens
    const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
    writeFileSync(join(dir, "mesh.key"), KEY);
    const command = (step: string, agent: string) => ({
      command: {
        argv: ["/bin/sh", "-c", `echo "${step} $WDMESH_PEER $WDMESH_ATTEMPT ${agent}" >> ${stepsFile}`],
      },
    });
    AGENTS.forEach((a, i) => {
      writeFileSync(
        join(dir, `${a}.json`),
        JSON.stringify({
          name: a,
          listen: `127.0.0.1:${ports[i]}`,
          key_file: join(dir, "mesh.key"),
          interval: INTERVAL_MS,
          timeout: 800,
          missed_before_restart: K,
          restarts_before_isolate: R,
          startup_grace: INTERVAL_MS,
          confirm: "majority",
          // The seed scenarios are under test, not the agents' own load.
          self_health: LOOSE_SELF_HEALTH,
          // The siblings are watched as members only here (their units are the
          // embedded-mesh test's subject), so no sibling entries.
          daemons: AGENTS.flatMap((s, j) => (j === i ? [] : [{ name: s, url: url(j) }])),
          workers: [
            { name: "dead", url: deadUrl, restart: command("restart", a), isolate: command("isolate", a) },
            {
              name: "blip",
              url: `${blipUrl}/${a}`,
              restart: command("restart", a),
              isolate: command("isolate", a),
            },
          ],
        }),
      );
    });
    for (const a of AGENTS) {
      output.set(a, "");
      const c = spawn(process.execPath, [AGENT_JS, join(dir, `${a}.json`)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const add = (d: Buffer) => output.set(a, (output.get(a) ?? "") + d.toString());
      c.stdout?.on("data", add);
      c.stderr?.on("data", add);
      children.push(c);
    }
    /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON */
    const mesh = async (i: number): Promise<any> => {
      try {
        const r = await fetch(`${url(i)}/v1/mesh`, { signal: AbortSignal.timeout(5_000) });
        return r.ok ? await r.json() : undefined;
      } catch {
        return undefined;
      }
    };
    const peerOn = async (i: number, name: string) =>
      (
        (await mesh(i))?.peers as Array<{ name: string; status: string; missed_count: number }> | undefined
      )?.find((p) => p.name === name);

    // Seed 4 + 5 in the mesh: R restarts, then one isolation, each exactly once overall.
    await until(
      "the dead worker isolated",
      () => steps().some((s) => s.startsWith("isolate dead")),
      60_000,
    ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
    await sleep(6 * INTERVAL_MS);
    const dead = steps()
      .filter((s) => s.split(" ")[1] === "dead")
      .map((s) => s.split(" ").slice(0, 3).join(" "));
    assert.deepEqual(
      dead,
      [...Array.from({ length: R }, (_, n) => `restart dead ${n + 1}`), "isolate dead 0"],
      `each step once across the three agents\n${diagnostics()}`,
    );

    // Seed 6 in the mesh: 200 → 503 → 200 is a blip for every agent, not a restart.
    let seen = "";
    const blipHealthyEverywhere = async () => {
      const on = await Promise.all(AGENTS.map((_, i) => peerOn(i, "blip")));
      seen = on
        .map((p, i) => `${AGENTS[i]}: ${p ? `${p.status}, missed ${p.missed_count}` : "no answer"}`)
        .join("; ");
      return on.every((p) => p?.status === "HEALTHY" && p.missed_count === 0);
    };
    const failWith = (e: Error) => assert.fail(`${e.message} (last seen: ${seen})\n${diagnostics()}`);
    await until("every agent to see the blipping worker HEALTHY", blipHealthyEverywhere, 30_000).catch(
      failWith,
    );
    for (const a of AGENTS) blipDue.add(a);
    await until("every agent to get its 503", () => blipDue.size === 0, 30_000).catch(failWith);
    await until(
      "every agent to see it HEALTHY again with missed_count 0",
      blipHealthyEverywhere,
      30_000,
    ).catch(failWith);
    assert.deepEqual(
      steps().filter((s) => s.split(" ")[1] === "blip"),
      [],
      "nobody restarts a worker that missed once",
    );
    // Each agent saw the blip itself (only the remediator would alert on it).
    for (const a of AGENTS) {
      const lines = (output.get(a) ?? "").split("\n").filter((l) => l.includes('"peer":"blip"'));
      for (const [from, to] of [
        ["HEALTHY", "DEGRADED"],
        ["DEGRADED", "HEALTHY"],
      ])
        assert.ok(
          lines.some((l) => l.includes(`"from":"${from}","to":"${to}"`)),
          `${a} saw the blip: ${from} → ${to}\n${diagnostics()}`,
        );
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    blipper.closeAllConnections();
    await new Promise<void>((r) => blipper.close(() => r()));
  }
});
