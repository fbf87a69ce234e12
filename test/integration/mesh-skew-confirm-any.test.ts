// Two real `wdmesh run` daemons on this host, wd-b's wall clock 10 minutes ahead
// (WDMESH_TEST_CLOCK_OFFSET_MS, test only: each refuses the other's view requests), both
// watching one failing peer "svc" with `mesh.confirm: any`, so each decides on its own. They
// share the host's step ledger (WDMESH_LEDGER_DIR of this test file), which every restart
// goes through. Each restart command logs "start NODE NS PEER EFFECT ATTEMPT", sleeps, and
// logs "end ..." with the real clock. Once several restarts ran, the test checks what the
// ledger promises:
//   - no restart step ran twice: every effect id once, every (node, attempt) once (each node
//     keeps one incident: svc never recovers);
//   - no two restarts overlap in time (a step in flight by one node blocks the other's);
// (The ledger also fences a step whose node probed before another node's step was taken;
// the test cannot see a ledger grant's instant, so it does not assert that rule.) Without
// one shared ledger the two nodes restart independently and their restarts overlap.
//
// With the in-flight rule on wall clocks, wd-b (10 min ahead) saw wd-a's running restart as
// past its deadline and started its own beside it in 4 of 4 runs; the ledger now judges a
// step's deadline on the host's monotonic clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { writeDaemonConfig } from "../helpers/config-builder.js";
import { spawnDaemon } from "../helpers/daemon-process.js";
import { freePorts } from "../helpers/ports.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const KEY = "skew-confirm-any-mesh-key-0123456789";
const TEN_MIN = 600_000;
const STEPS = 6;

interface Line {
  what: "start" | "end";
  node: string;
  ns: bigint;
  peer: string;
  effect: string;
  attempt: number;
}

/** svc: 200 until `failing`, then 503. */
async function target(failing: { on: boolean }): Promise<{ port: number; close: () => void }> {
  const s = createServer((_req, res) => {
    res.writeHead(failing.on ? 503 : 200).end(failing.on ? "down" : "ok");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as { port: number }).port,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

const show = (ls: Line[]): string =>
  ls.map((l) => `${l.what} ${l.node} ${l.ns} ${l.effect} #${l.attempt}`).join("\n");

void test("a pair 10 min apart with confirm: any never runs a restart step twice nor two at once", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdm-skew-any-");
  const log = join(dir, "restarts.log");
  const failing = { on: false };
  const svc = await target(failing);
  t.after(() => svc.close());
  const [portA, portB] = (await freePorts(2)) as [number, number];

  const script = (node: string): string =>
    `echo "start ${node} $(date +%s%N) $WDMESH_PEER $WDMESH_EFFECT_ID $WDMESH_ATTEMPT" >> "${log}"; ` +
    `sleep 0.3; echo "end ${node} $(date +%s%N) $WDMESH_PEER $WDMESH_EFFECT_ID $WDMESH_ATTEMPT" >> "${log}"`;
  const node = (name: string, port: number, other: string, otherPort: number): string =>
    writeDaemonConfig(
      dir,
      {
        node: { name, listen: port, data_dir: join(dir, `${name}-state`) },
        defaults: {
          interval: "300ms",
          retry_interval: "300ms",
          timeout: "250ms",
          missed_before_restart: 1,
          restarts_before_isolate: 1000,
          startup_grace: "0s",
          restart_backoff: { initial: "100ms", max: "100ms" },
        },
        looseSelfHealth: true,
        mesh: {
          key: KEY,
          confirm: "any",
          members: [{ name: other, url: `http://127.0.0.1:${otherPort}` }],
        },
        peers: [
          {
            name: "svc",
            probe: { http: { url: `http://127.0.0.1:${svc.port}/health` } },
            restart: { command: { argv: ["/bin/sh", "-c", script(name)], timeout: "10s" } },
            isolate: "none",
          },
        ],
      },
      `${name}.yaml`,
    );
  const b = spawnDaemon(node("wd-b", portB, "wd-a", portA), {
    wrap: ["env", `WDMESH_TEST_CLOCK_OFFSET_MS=${TEN_MIN}`],
  });
  const a = spawnDaemon(node("wd-a", portA, "wd-b", portB));
  const dump = (): string => `\nwd-a:\n${a.output().slice(-3000)}\nwd-b:\n${b.output().slice(-3000)}`;

  // The skew is in place (wd-a measured wd-b 10 min ahead) before svc starts failing.
  await until(
    "wd-a to measure wd-b's clock 10 min ahead",
    async () => {
      const r = await fetch(`http://127.0.0.1:${portA}/v1/mesh`).catch(() => null);
      const ms = r?.ok
        ? ((await r.json()) as { members: Array<{ name: string; clock_offset_ms?: number | null }> }).members
        : [];
      const off = ms.find((m) => m.name === "wd-b")?.clock_offset_ms;
      return typeof off === "number" && Math.abs(off - TEN_MIN) <= 5_000;
    },
    30_000,
  ).catch((e: unknown) => assert.fail(`${String(e)}${dump()}`));
  failing.on = true;

  const lines = (): Line[] =>
    (existsSync(log) ? readFileSync(log, "utf8") : "")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [what, n, ns, peer, effect, attempt] = l.split(" ");
        return {
          what: what as Line["what"],
          node: n ?? "",
          ns: BigInt(ns ?? "0"),
          peer: peer ?? "",
          effect: effect ?? "",
          attempt: Number(attempt),
        };
      });
  await until(
    `${STEPS} finished restarts`,
    () => lines().filter((l) => l.what === "end").length >= STEPS,
    45_000,
  ).catch((e: unknown) => assert.fail(`${String(e)}\n${show(lines())}${dump()}`));

  const all = lines();
  const why = `\n${show(all)}`;
  const starts = all.filter((l) => l.what === "start");
  assert.ok(
    starts.every((l) => l.peer === "svc" && l.effect !== "" && l.attempt >= 1),
    why,
  );

  // No step twice.
  const effects = starts.map((l) => l.effect);
  assert.equal(new Set(effects).size, effects.length, `every effect id runs once${why}`);
  const steps = starts.map((l) => `${l.node}#${l.attempt}`);
  assert.equal(new Set(steps).size, steps.length, `every (node, attempt) runs once${why}`);

  // Never two at once: in time order, each start comes after the previous step's end.
  const byTime = [...all].sort((x, y) => (x.ns < y.ns ? -1 : x.ns > y.ns ? 1 : 0));
  let open: Line | undefined;
  for (const l of byTime) {
    if (l.what === "start") {
      assert.equal(open, undefined, `${l.node}'s restart started while ${open?.node}'s ran${why}`);
      open = l;
    } else {
      assert.equal(l.effect, open?.effect, `an end matches the running step${why}`);
      open = undefined;
    }
  }

  t.diagnostic(
    `restarts: wd-a ${starts.filter((l) => l.node === "wd-a").length}, wd-b ${starts.filter((l) => l.node === "wd-b").length}`,
  );
});
