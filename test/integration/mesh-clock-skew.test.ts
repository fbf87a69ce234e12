// Clock skew between two real `wdmesh run` daemons: wd-b's wall clock is 10 minutes ahead
// (WDMESH_TEST_CLOCK_OFFSET_MS, test only), so each refuses the other's view requests.
// wd-a measures the offset from the refusal, shows it in GET /v1/mesh and /metrics, holds
// a failing peer naming the skew (not "unreachable"), and alerts clock_skew once to a real
// webhook receiver.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { writeDaemonConfig } from "../helpers/config-builder.js";
import { spawnDaemon } from "../helpers/daemon-process.js";
import { freePorts } from "../helpers/ports.js";
import { meshMembers } from "../helpers/mesh-doc.js";
import { Receiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const KEY = "clock-skew-daemons-key-0123456789";
const TEN_MIN = 600_000;

interface Body {
  action: string;
  severity: string;
  peer_name: string;
  reason: string;
}

void test("a member 10 min ahead: offset measured and shown, the hold names the skew, clock_skew alerted once", async (t) => {
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdm-skew-");
  const rx = await new Receiver().start();
  t.after(() => rx.stop());
  const [portA, portB] = (await freePorts(2)) as [number, number];
  // The worker answers until wd-a has measured the skew; then it stops, so the hold comes after.
  const worker = createServer((s) => s.destroy());
  await new Promise<void>((r) => worker.listen(0, "127.0.0.1", r));
  const workerPort = (worker.address() as { port: number }).port;
  t.after(() => worker.close());
  const node = (
    name: string,
    port: number,
    other: string,
    otherPort: number,
    extra: Record<string, unknown>,
  ) =>
    writeDaemonConfig(
      dir,
      {
        node: { name, listen: port, data_dir: join(dir, `${name}-state`) },
        defaults: { interval: "300ms", retry_interval: "300ms", timeout: "250ms", missed_before_restart: 1 },
        looseSelfHealth: true,
        mesh: {
          key: KEY,
          confirm: "majority",
          members: [{ name: other, url: `http://127.0.0.1:${otherPort}` }],
        },
        ...extra,
      },
      `${name}.yaml`,
    );
  const cfgB = node("wd-b", portB, "wd-a", portA, {});
  const cfgA = node("wd-a", portA, "wd-b", portB, {
    // Once it stops, wd-a sees it fail and, without wd-b's view, must hold.
    peers: [
      {
        name: "worker",
        probe: { tcp: { host: "127.0.0.1", port: workerPort } },
        restart: { command: { argv: ["/bin/true"] } },
        isolate: "none",
      },
    ],
    alerts: [{ name: "pager", webhook: { url: rx.url("/hook"), format: "generic" }, min_severity: "INFO" }],
  });
  const b = spawnDaemon(cfgB, { wrap: ["env", `WDMESH_TEST_CLOCK_OFFSET_MS=${TEN_MIN}`] });
  await until(
    "wd-b to serve /health",
    async () => (await fetch(`http://127.0.0.1:${portB}/health`).catch(() => null))?.ok === true,
    30_000,
  );
  const a = spawnDaemon(cfgA);

  const bodies = (): Body[] => rx.requests.map((r) => JSON.parse(r.body) as Body);
  await until(
    "wd-a to measure wd-b's clock 10 min ahead",
    async () => {
      const off = (await meshMembers(portA)).find((m) => m.name === "wd-b")?.clock_offset_ms;
      return typeof off === "number" && Math.abs(off - TEN_MIN) <= 5_000;
    },
    30_000,
  ).catch((e: unknown) =>
    assert.fail(`${String(e)}\nwd-a:\n${a.output().slice(-3000)}\nwd-b:\n${b.output().slice(-2000)}`),
  );
  await until(
    "wd-b to measure wd-a's clock 10 min behind",
    async () => {
      const off = (await meshMembers(portB)).find((m) => m.name === "wd-a")?.clock_offset_ms;
      return typeof off === "number" && Math.abs(off + TEN_MIN) <= 5_000;
    },
    30_000,
  );

  const metrics = await (await fetch(`http://127.0.0.1:${portA}/metrics`)).text();
  const line = /^wdmesh_mesh_member_clock_offset_seconds\{member="wd-b"\} (\S+)$/m.exec(metrics);
  assert.ok(line, "the offset metric is exported");
  assert.ok(Math.abs(Number(line[1]) - TEN_MIN / 1000) <= 5, `metric ${line[1]} s is 600 s ± 5 s`);

  worker.close();
  await until(
    "clock_skew and remediation_held at the receiver",
    () => {
      const kinds = bodies().map((x) => x.action);
      return kinds.includes("clock_skew") && kinds.includes("remediation_held");
    },
    30_000,
  );
  const skew = bodies().find((x) => x.action === "clock_skew");
  assert.equal(skew?.severity, "HIGH");
  assert.equal(skew?.peer_name, "wd-a", "a node-level condition: it names the node that raised it");
  // (600 s ± 5 s, as above: a refusal's Date header has whole seconds and the round trip's middle is an estimate.)
  assert.match(
    skew?.reason ?? "",
    /member wd-b's clock is (59[5-9]|60[0-5]) s ahead of this node's \(the mesh allows 30 s\)/,
  );
  const held = bodies().find((x) => x.action === "remediation_held");
  assert.match(
    held?.reason ?? "",
    /member wd-b's clock is (59[5-9]|60[0-5]) s ahead of this node's \(the mesh allows 60 s\): fix NTP on one of them/,
  );
  assert.doesNotMatch(held?.reason ?? "", /unreachable/);
  // Measured on every poll since the first refusal (many polls before the hold): one alert.
  assert.equal(bodies().filter((x) => x.action === "clock_skew").length, 1, "one alert per episode");
  assert.equal(bodies().filter((x) => x.action === "clock_skew_cleared").length, 0);
});
