// Three agents that embed Monitor (examples/embedded-agent/agent.mjs) and one wdmesh
// daemon form one mesh (confirm: majority of the 4 configured nodes = 3) inside a real
// systemd (PID + mount namespace). Every node watches the two shared workers and the
// agents' units, and restarts them through systemctl. Each unit appends a line to its
// own ".starts" file whenever systemd starts it, so restarts are counted by what
// really happened, across all nodes.
//   1. SIGKILL a worker: exactly one restart of it.
//   2. SIGKILL an agent: the others restart it exactly once.
//   3. SIGSTOP two agents, then SIGKILL a worker: the live agent and the daemon are 2 of
//      4: nobody restarts it, and its owner says remediation_held.
//   4. SIGCONT one of them: the live agents and the daemon are 3 of 4 (without the
//      daemon's vote, 2): the worker is restarted exactly once, and so is the agent
//      still frozen (hung: its /health does not answer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { bootSystemd, freePort, inNs, skipUnlessSystemd, type SystemdNs } from "../helpers/systemd-ns.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { LOOSE_SELF_HEALTH } from "../helpers/loose-self-health.js";
import { membersSettled } from "../helpers/mesh-doc.js";

const skip = skipUnlessSystemd();
const AGENT_JS = fileURLToPath(new URL("../../examples/embedded-agent/agent.mjs", import.meta.url));
const KEY = "embedded-mesh-key-0123456789abcdef";
const INTERVAL_MS = 1_000;
const AGENTS = ["agent-a", "agent-b", "agent-c"];
const WORKERS = ["worker-1", "worker-2"];
const DAEMON = "wd-d";

const WORKER_JS = `
const http = require("node:http");
http.createServer((req, res) => {
  res.writeHead(req.url === "/health" ? 200 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: "ok", pid: process.pid }));
}).listen(Number(process.argv[2]), "127.0.0.1");
`;

interface JsonLine {
  [k: string]: unknown;
}

test(
  "three embedded agents and a daemon: one restart per step, holds without a majority",
  { skip },
  async (t) => {
    if (!haveBuiltCli(t)) return;
    // Under /var/tmp, not /tmp: the namespace has its own /tmp.
    const dir = tempDir(t, "wdmesh-embedded-", { parent: "/var/tmp" });
    let ns: SystemdNs | undefined;
    const ports = new Map<string, number>();
    for (const n of [...AGENTS, ...WORKERS, DAEMON]) ports.set(n, await freePort());
    const url = (n: string) => `http://127.0.0.1:${ports.get(n)}`;
    const unit = (n: string) => `${n}.service`;
    const starts = (n: string): number => {
      const f = join(dir, `${n}.starts`);
      return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean).length : 0;
    };
    const logOf = (n: string): JsonLine[] => {
      const f = join(dir, `${n}.log`);
      if (!existsSync(f)) return [];
      return readFileSync(f, "utf8")
        .split("\n")
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as JsonLine];
          } catch {
            return [];
          }
        });
    };
    const nodes = [...AGENTS, DAEMON];
    const actions = (action: string, peer: string) =>
      nodes.flatMap((n) =>
        logOf(n)
          .filter((l) => l.action === action && l.peer === peer)
          .map(() => n),
      );
    const diagnostics = () =>
      nodes
        .map((n) => {
          const f = join(dir, `${n}.log`);
          const text = existsSync(f) ? readFileSync(f, "utf8") : "";
          return `--- ${n}:\n${text.split("\n").slice(-25).join("\n")}`;
        })
        .join("\n") + `\nstarts: ${[...AGENTS, ...WORKERS].map((n) => `${n}=${starts(n)}`).join(" ")}`;
    /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON */
    const getJson = async (u: string): Promise<any> => {
      const r = await fetch(u, { signal: AbortSignal.timeout(2_000) });
      if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
      return r.json();
    };
    const healthyEverywhere = async (peers: string[], on: string[]): Promise<boolean> => {
      for (const n of on) {
        try {
          const doc = await getJson(`${url(n)}/v1/mesh`);
          for (const p of peers) {
            const h = (doc.peers as Array<{ name: string; status: string }>).find((x) => x.name === p);
            if (h?.status !== "HEALTHY") return false;
          }
        } catch {
          return false;
        }
      }
      return true;
    };

    try {
      writeFileSync(join(dir, "mesh.key"), KEY, { mode: 0o600 });
      writeFileSync(join(dir, "worker.cjs"), WORKER_JS);
      const timing = {
        interval: "1s",
        timeout: "700ms",
        missed_before_restart: 2,
        startup_grace: "2s",
        // A thawed agent sees its own stall and holds what it would remediate for one
        // window; a short window and loose limits keep that (and the load of a busy test
        // machine) from stalling this test, which is about the quorum.
        self_health: LOOSE_SELF_HEALTH,
        // Two frozen agents and a dead worker are 3 of 4 peers: the storm guard would hold
        // them all (one correlated_failure). This test is about the quorum's hold.
        storm: false,
      };
      for (const a of AGENTS) {
        writeFileSync(
          join(dir, `${a}.json`),
          JSON.stringify({
            name: a,
            listen: `127.0.0.1:${ports.get(a)}`,
            key_file: join(dir, "mesh.key"),
            ...timing,
            confirm: "majority",
            siblings: AGENTS.filter((s) => s !== a).map((s) => ({ name: s, url: url(s), unit: unit(s) })),
            workers: WORKERS.map((w) => ({ name: w, url: `${url(w)}/health`, unit: unit(w) })),
            daemons: [{ name: DAEMON, url: url(DAEMON) }],
          }),
        );
      }
      const peerYaml = (name: string, health: string, u: string) =>
        `  - name: ${name}\n    probe: { http: { url: "${health}" } }\n    restart: { systemd: { unit: ${u} } }\n    isolate: none\n`;
      writeFileSync(
        join(dir, `${DAEMON}.yaml`),
        `node: { name: ${DAEMON}, listen: "127.0.0.1:${ports.get(DAEMON)}", data_dir: "${join(dir, "wd-d-data")}" }
storm: false
defaults:
  interval: 1s
  timeout: 700ms
  retry_interval: 1s
  missed_before_restart: 2
  startup_grace: 2s
  restart_backoff: { initial: 1s, max: 5s }
peers:
${WORKERS.map((w) => peerYaml(w, `${url(w)}/health`, unit(w))).join("")}${AGENTS.map((a) => peerYaml(unit(a), `${url(a)}/health`, unit(a))).join("")}mesh:
  key: "${KEY}"
  confirm: majority
  members:
${AGENTS.map((a) => `    - { name: ${a}, url: "${url(a)}" }`).join("\n")}
`,
      );

      ns = await bootSystemd();
      const sys = ns;
      const service = (n: string, execStart: string) =>
        `[Unit]\nDescription=${n}\n[Service]\nExecStartPre=/bin/sh -c 'echo start >> ${join(dir, `${n}.starts`)}'\n` +
        `ExecStart=${execStart}\nStandardOutput=append:${join(dir, `${n}.log`)}\nStandardError=append:${join(dir, `${n}.log`)}\n` +
        `Restart=no\nTimeoutStopSec=3\n`;
      for (const w of WORKERS)
        await sys.writeFile(
          `/run/systemd/system/${unit(w)}`,
          service(w, `${process.execPath} ${join(dir, "worker.cjs")} ${ports.get(w)}`),
        );
      for (const a of AGENTS)
        await sys.writeFile(
          `/run/systemd/system/${unit(a)}`,
          service(a, `${process.execPath} ${inNs(AGENT_JS)} ${join(dir, `${a}.json`)}`),
        );
      await sys.writeFile(
        `/run/systemd/system/${unit(DAEMON)}`,
        service(DAEMON, `${process.execPath} ${inNs(CLI)} run --config ${join(dir, `${DAEMON}.yaml`)}`),
      );
      await sys.systemctlOk("daemon-reload");
      await sys.systemctlOk("start", ...[...WORKERS, ...AGENTS, DAEMON].map(unit));

      const watched = [...WORKERS, ...AGENTS.map(unit)];
      await until(
        "every node to see every member alive with a fresh view, and every peer it watches HEALTHY",
        async () => {
          for (const n of nodes) {
            try {
              if (!membersSettled(await getJson(`${url(n)}/v1/mesh`), 3, INTERVAL_MS)) return false;
            } catch {
              return false;
            }
          }
          for (const a of AGENTS)
            if (!(await healthyEverywhere([...WORKERS, ...AGENTS.filter((x) => x !== a).map(unit)], [a])))
              return false;
          return healthyEverywhere(watched, [DAEMON]);
        },
        60_000,
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));

      // 1. A worker dies: exactly one restart, whichever node owns it.
      await sys.systemctlOk("kill", "--kill-who=main", "-s", "SIGKILL", unit("worker-1"));
      await until("worker-1 restarted", () => starts("worker-1") >= 2, 30_000).catch((e: Error) =>
        assert.fail(`${e.message}\n${diagnostics()}`),
      );
      await until("worker-1 HEALTHY everywhere", () => healthyEverywhere(["worker-1"], nodes), 30_000);
      await sleep(4 * INTERVAL_MS);
      assert.equal(starts("worker-1"), 2, `one restart of worker-1\n${diagnostics()}`);
      assert.equal(actions("restart", "worker-1").length, 1, `one node restarted worker-1\n${diagnostics()}`);

      // 2. An agent dies: the others restart it exactly once.
      await sys.systemctlOk("kill", "--kill-who=main", "-s", "SIGKILL", unit("agent-b"));
      await until("agent-b restarted", () => starts("agent-b") >= 2, 30_000).catch((e: Error) =>
        assert.fail(`${e.message}\n${diagnostics()}`),
      );
      await until(
        "agent-b back and HEALTHY everywhere",
        () => healthyEverywhere([unit("agent-b")], ["agent-a", "agent-c", DAEMON]),
        30_000,
      );
      await sleep(4 * INTERVAL_MS);
      assert.equal(starts("agent-b"), 2, `one restart of agent-b\n${diagnostics()}`);
      assert.equal(actions("restart", unit("agent-b")).length, 1, diagnostics());
      await until(
        "agent-b to be a live member again everywhere",
        async () => {
          for (const n of ["agent-a", "agent-c", DAEMON]) {
            const m = (await getJson(`${url(n)}/v1/mesh`)).members.find(
              (x: { name: string }) => x.name === "agent-b",
            );
            if (
              m?.status !== "HEALTHY" ||
              typeof m.view_age_ms !== "number" ||
              m.view_age_ms > 3 * INTERVAL_MS
            )
              return false;
          }
          return true;
        },
        30_000,
      );
      // 3. Two agents freeze; a worker dies. agent-a and the daemon are 2 of 4: they hold.
      await sys.systemctlOk("kill", "--kill-who=main", "-s", "SIGSTOP", unit("agent-b"), unit("agent-c"));
      await sleep(4 * INTERVAL_MS); // their views go stale
      await sys.systemctlOk("kill", "--kill-who=main", "-s", "SIGKILL", unit("worker-2"));
      await until(
        "remediation_held for worker-2",
        () => actions("remediation_held", "worker-2").length > 0,
        30_000,
      ).catch((e: Error) => assert.fail(`${e.message}\n${diagnostics()}`));
      await sleep(6 * INTERVAL_MS);
      assert.equal(starts("worker-2"), 1, `nobody restarts worker-2 without a majority\n${diagnostics()}`);
      assert.equal(
        starts("agent-b"),
        2,
        `nobody restarts frozen agent-b without a majority\n${diagnostics()}`,
      );
      assert.equal(
        starts("agent-c"),
        1,
        `nobody restarts frozen agent-c without a majority\n${diagnostics()}`,
      );
      assert.deepEqual(actions("restart", "worker-2"), []);

      // 4. agent-c thaws: agent-a, agent-c and the daemon are 3 of 4 (the daemon's vote is
      //    needed): exactly one restart of worker-2, and one of agent-b (hung). A node
      //    that was frozen first sees its own stall (self_health degraded) and holds
      //    whatever it would remediate until its window has passed, so the bounds here
      //    cover that too.
      await sys.systemctlOk("kill", "--kill-who=main", "-s", "SIGCONT", unit("agent-c"));
      await until("worker-2 restarted", () => starts("worker-2") >= 2, 90_000).catch((e: Error) =>
        assert.fail(`${e.message}\n${diagnostics()}`),
      );
      await until("agent-b restarted again", () => starts("agent-b") >= 3, 90_000).catch((e: Error) =>
        assert.fail(`${e.message}\n${diagnostics()}`),
      );
      await until(
        "worker-2 and agent-b HEALTHY everywhere",
        () => healthyEverywhere(["worker-2", unit("agent-b")], ["agent-a", "agent-c", DAEMON]),
        30_000,
      );
      await sleep(4 * INTERVAL_MS);
      assert.equal(starts("worker-2"), 2, `one restart of worker-2\n${diagnostics()}`);
      assert.equal(starts("agent-b"), 3, `one restart of hung agent-b\n${diagnostics()}`);
      assert.equal(starts("agent-c"), 1, "agent-c was only paused");
      assert.equal(actions("restart", "worker-2").length, 1, diagnostics());
    } finally {
      await ns?.shutdown();
    }
  },
);
