// The container executor and probe against a fake engine on a unix socket: each failure
// of the engine comes back as a result naming it (never a throw), and the probe maps
// the engine's health to alive / miss / grace. The real engine is in
// test/integration/containers-*.test.ts.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContainerExecutor } from "../../src/act/container.js";
import { probeContainer } from "../../src/probe/container.js";
import type { RemediationTarget } from "../../src/act/executor.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until } from "../helpers/wait.js";

const dir = fileTempDir("wdm-fake-engine-");
const target: RemediationTarget = { peer: "web", effectId: "e1", attempt: 1 };
const signal = new AbortController().signal;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function fakeEngine(name: string, handler: Handler): Promise<{ socket: string; server: Server }> {
  const socket = join(dir, name);
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(socket, r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return { socket, server };
}

function inspectBody(state: Record<string, unknown>): string {
  return JSON.stringify({
    Id: "0123456789abcdef0123",
    Name: "/web",
    State: {
      Status: "running",
      Running: true,
      Paused: false,
      ExitCode: 0,
      StartedAt: "2026-01-01T00:00:00Z",
      ...state,
    },
    HostConfig: { NetworkMode: "bridge" },
    NetworkSettings: { Networks: {} },
    Config: { Labels: {} },
  });
}

describe("engine failures are results, each named", () => {
  const ex = new ContainerExecutor();

  test("socket missing", async () => {
    const r = await ex.restart(
      { container: { name: "web", socket: join(dir, "nothing.sock") } },
      target,
      signal,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /docker engine socket .*nothing\.sock does not exist/);
  });

  test("socket refused (a socket file nobody listens on)", async () => {
    const socket = join(dir, "dead.sock");
    const child = spawn(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(socket)})`,
    ]);
    await until("the socket file", () => existsSync(socket));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const r = await ex.restart({ container: { name: "web", socket } }, target, signal);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /refused the connection/);
  });

  test("engine timeout", async () => {
    const { socket } = await fakeEngine("slow.sock", () => {
      // never answers
    });
    const r = await ex.restart(
      { container: { name: "web", socket, timeout: 200, stopTimeout: 0 } },
      target,
      signal,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /did not answer POST \/containers\/web\/restart within 200 ms/);
  });

  test("container gone", async () => {
    const { socket } = await fakeEngine("gone.sock", (_q, res) => {
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"no such container"}');
    });
    const r = await ex.isolate({ container: { name: "web", socket } }, target, signal);
    assert.equal(r.result.ok, false);
    assert.match(r.result.error ?? "", /container web not found on the docker engine/);
    assert.equal(r.record.method, "none");
  });

  test("permission denied is named with what to do", async () => {
    const { socketFailureForTest } = await import("../../src/engine/client.js");
    const f = socketFailureForTest(Object.assign(new Error("connect EACCES"), { code: "EACCES" }), {
      socket: "/var/run/docker.sock",
      engine: "docker",
      timeoutMs: 1000,
    });
    assert.equal(f.code, "WDM_ENGINE_PERMISSION");
    assert.match(f.error, /permission denied on the docker engine socket \/var\/run\/docker\.sock/);
    assert.match(f.error, /to the socket's group/);
    assert.match(f.error, /root on the host/);
  });

  test("restart: the result says the container did not come back running", async () => {
    const { socket } = await fakeEngine("exited.sock", (req, res) => {
      if (req.method === "POST") return void res.writeHead(204).end();
      res.writeHead(200).end(inspectBody({ Status: "exited", Running: false, ExitCode: 3 }));
    });
    const r = await ex.restart({ container: { name: "web", socket } }, target, signal);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /did not come back running .* exited, exit code 3/);
  });
});

describe("container probe", () => {
  const probeWith = async (state: Record<string, unknown>) => {
    const { socket } = await fakeEngine(`p${Math.random().toString(36).slice(2)}.sock`, (_q, res) => {
      res.writeHead(200).end(inspectBody(state));
    });
    return probeContainer({ name: "web", socket }, 2000);
  };

  test("healthy is alive; no HEALTHCHECK and running is alive", async () => {
    assert.equal((await probeWith({ Health: { Status: "healthy" } })).ok, true);
    assert.equal((await probeWith({})).ok, true);
  });

  test("unhealthy is a miss with the failing streak and last output", async () => {
    const r = await probeWith({
      Health: { Status: "unhealthy", FailingStreak: 4, Log: [{ ExitCode: 1, Output: "db down\n" }] },
    });
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, undefined);
    assert.match(
      r.error ?? "",
      /container web is unhealthy \(HEALTHCHECK failing streak 4, last output: db down\)/,
    );
  });

  test("starting is grace: not a miss", async () => {
    const r = await probeWith({ Health: { Status: "starting" } });
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, true);
    // The peer's own start period, not this node's trouble.
    assert.deepEqual(r.cause, { kind: "grace" });
    assert.match(r.error ?? "", /health is starting/);
  });

  test("exited says how it ended; OOM kill is named", async () => {
    const r = await probeWith({ Status: "exited", Running: false, ExitCode: 137, OOMKilled: true });
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /not running \(exited\): was killed for lack of memory/);
    const e = await probeWith({
      Status: "exited",
      Running: false,
      ExitCode: 2,
      FinishedAt: "2026-01-01T00:01:00Z",
    });
    assert.match(e.error ?? "", /exited with code 2 at 2026-01-01T00:01:00Z/);
  });

  test("gone: a miss for a configured container; for a discovered one, grace (discovery unwatches it)", async () => {
    const { socket } = await fakeEngine(`g${Math.random().toString(36).slice(2)}.sock`, (_q, res) => {
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"no such container"}');
    });
    const configured = await probeContainer({ name: "web", socket }, 2000);
    assert.equal(configured.ok, false);
    assert.equal(configured.inconclusive, undefined, "a configured container that is gone is a miss");
    assert.match(configured.error ?? "", /container web not found on the docker engine/);
    const discovered = await probeContainer({ name: "web", socket, discovered: true }, 2000);
    assert.equal(discovered.ok, false);
    assert.equal(discovered.inconclusive, true);
    assert.deepEqual(discovered.cause, { kind: "grace" });
    assert.match(discovered.error ?? "", /removed; container discovery unwatches it/);
  });

  test("an engine that cannot be asked is inconclusive, not a miss", async () => {
    const r = await probeContainer({ name: "web", socket: join(dir, "none.sock") }, 1000);
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, true);
    assert.match(r.error ?? "", /does not exist/);
  });
});

describe("isolation is verified, and falls back when it cannot be", () => {
  // A fake engine whose container "lives" at 127.0.0.1:PORT (loopback only): after the
  // disconnect the engine reports no network, but the address still answers.
  test("an address that still answers after the disconnect: not cut, falls back to pause, says so", async () => {
    const alive = createServer((_q, res) => res.end("ok"));
    await new Promise<void>((r) => alive.listen(0, "127.0.0.1", r));
    after(() => new Promise<void>((r) => alive.close(() => r())));
    const port = (alive.address() as { port: number }).port;
    const state = { connected: true, paused: false };
    const calls: string[] = [];
    const { socket } = await fakeEngine("verify.sock", (req, res) => {
      calls.push(`${req.method} ${(req.url ?? "").replace(/^\/v[\d.]+/, "")}`);
      if (req.method === "POST" && req.url?.includes("/disconnect")) state.connected = false;
      if (req.method === "POST" && req.url?.endsWith("/pause")) state.paused = true;
      if (req.method === "POST") return void res.writeHead(200).end();
      const body = JSON.parse(inspectBody({ Paused: state.paused })) as Record<string, unknown>;
      body.NetworkSettings = {
        Networks: state.connected ? { appnet: { IPAddress: "127.0.0.1", Aliases: ["app"] } } : {},
      };
      res.writeHead(200).end(JSON.stringify(body));
    });
    const ex = new ContainerExecutor({ canaryTimeoutMs: 500 });
    const out = await ex.isolate({ container: { name: "web", socket } }, { ...target, port }, signal);
    assert.equal(out.result.ok, true, JSON.stringify(out.result));
    assert.match(
      out.result.detail ?? "",
      new RegExp(`NOT cut: 127\\.0\\.0\\.1:${port} still answers \\(connected\\)`),
    );
    assert.match(
      out.result.detail ?? "",
      /network cut not verified: falling back to host_mode; paused container web/,
    );
    assert.deepEqual(out.record.applied, ["disconnect appnet", "pause"]);
    assert.deepEqual(out.record.container?.networks[0]?.aliases, ["app"]);
    assert.ok(calls.includes("POST /networks/appnet/disconnect"), calls.join(", "));
  });
});

describe("a container found off its networks (an isolation run again after a crash)", () => {
  const offEngine = (mode: string) =>
    fakeEngine(`off-${mode}.sock`, (req, res) => {
      if (req.method === "POST") return void res.writeHead(204).end();
      const body = JSON.parse(inspectBody({})) as { HostConfig: { NetworkMode: string } };
      body.HostConfig.NetworkMode = mode;
      res.writeHead(200).end(JSON.stringify(body));
    });

  test("its networks are not known: the record says so, and release asks for them by hand instead of 'nothing to undo'", async () => {
    const { socket } = await offEngine("bridge");
    const ex = new ContainerExecutor();
    const spec = { container: { name: "web", socket } };
    const iso = await ex.isolate(spec, target, signal);
    assert.equal(iso.result.ok, true, JSON.stringify(iso.result));
    assert.match(iso.result.detail ?? "", /already cut off; the networks it was on are not known/);
    assert.equal(iso.record.container?.networksUnknown, true);
    assert.deepEqual(iso.record.applied, ["disconnect (networks not known)"]);
    const rel = await ex.release(spec, iso.record, target, signal);
    assert.equal(rel.ok, false, JSON.stringify(rel));
    assert.match(
      rel.error ?? "",
      /already off its networks \(network mode bridge\), so which to give back is not known: reconnect them by hand/,
    );
  });

  test("a container with network mode none was never on one: nothing to give back", async () => {
    const { socket } = await offEngine("none");
    const ex = new ContainerExecutor();
    const spec = { container: { name: "web", socket } };
    const iso = await ex.isolate(spec, target, signal);
    assert.equal(iso.record.container?.networksUnknown, undefined);
    assert.deepEqual(iso.record.applied, []);
    const rel = await ex.release(spec, iso.record, target, signal);
    assert.equal(rel.ok, true, JSON.stringify(rel));
  });
});

describe("the canary stays on this machine", () => {
  test("an address on a local interface's subnet is tried; any other is not (nothing sent)", async () => {
    const { localSubnetOf, localCanary } = await import("../../src/act/container-canary.js");
    assert.match(localSubnetOf("127.0.0.5") ?? "", /127\.0\.0\.1\/8/);
    // 203.0.113.0/24 is reserved for documentation: on no interface of a test machine.
    assert.equal(localSubnetOf("203.0.113.7"), null);
    const r = await localCanary("203.0.113.7", 9, 100);
    assert.deepEqual(r, {
      outcome: "silent",
      seen: "no loopback or container bridge of this machine is on its subnet (not tried)",
    });
  });

  test("only loopback or a container bridge, the most specific subnet first: a LAN subnet holding a vanished bridge's address is not tried", async () => {
    const { localSubnetOf } = await import("../../src/act/container-canary.js");
    const info = (address: string, cidr: string) => ({
      address,
      cidr,
      netmask: "",
      family: "IPv4" as const,
      mac: "00:00:00:00:00:00",
      internal: false,
    });
    const lan = { eth0: [info("10.0.0.5", "10.0.0.5/8")] };
    const bridge = { podman1: [info("10.89.7.1", "10.89.7.1/24")] };
    const bridges = (name: string): boolean => name === "podman1";
    // Bridge up: the address is reached through it (most specific), so it is tried.
    assert.equal(localSubnetOf("10.89.7.16", { ...lan, ...bridge }, bridges), "podman1 10.89.7.1/24");
    assert.equal(localSubnetOf("10.89.7.16", { ...bridge, ...lan }, bridges), "podman1 10.89.7.1/24");
    // Bridge gone with its last container: only the LAN's /8 holds it; that would leave the machine.
    assert.equal(localSubnetOf("10.89.7.16", lan, bridges), null);
    // A bridge with a network card among its ports is no container bridge.
    assert.equal(
      localSubnetOf("10.89.7.16", bridge, () => false),
      null,
    );
  });
});

test("a container isolation record survives the store (JSON) and is read back whole", async () => {
  const { readIsolationRecord } = await import("../../src/core/isolation.js");
  const record = {
    method: "container" as const,
    unit: "web",
    applied: ["disconnect appnet"],
    container: {
      id: "0123456789abcdef",
      name: "web",
      mode: "network" as const,
      networks: [{ network: "appnet", aliases: ["app"], ipv4: "10.0.0.2", disconnected: true }],
      paused: false,
      stopped: false,
    },
  };
  assert.deepEqual(readIsolationRecord(JSON.parse(JSON.stringify(record))), record);
});
