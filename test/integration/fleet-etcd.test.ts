// The fleet's coordination against a REAL 3-member etcd cluster on loopback ports
// (test/helpers/etcd-cluster.ts): membership (join, leave, lease expiry), a step taken
// exactly once by nodes racing for it, a node paused past its lease whose stale token is
// refused (by its own check, and by the host's step ledger, a real SQLite file), and
// etcd's leader killed / all of etcd down: no step without a token, and steps again once
// etcd is back. Steps run as the daemon runs them: the EffectRunner with the fleet's claimer.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Executor, RemediationTarget } from "../../src/act/executor.js";
import { silentLogger } from "../../src/core/logger.js";
import type { RemediationEffect } from "../../src/core/ladder.js";
import type { ActionResult } from "../../src/core/types.js";
import { StepFence } from "../../src/effects/fence.js";
import {
  EffectRunner,
  type FencedStep,
  type RemediatedPeer,
  type StepClaimer,
} from "../../src/effects/runner.js";
import { StepLog } from "../../src/effects/step-log.js";
import { FleetNode, type FleetNodeOptions } from "../../src/fleet/fleet-node.js";
import { fleetStepClaimer } from "../../src/fleet/step-claimer.js";
import { systemClock } from "../../src/schedule/clock.js";
import { EtcdCluster, etcdSkipReason } from "../helpers/etcd-cluster.js";
import { fileTempDir } from "../helpers/tmp-dir.js";
import { until, waitFor } from "../helpers/wait.js";

const skip = etcdSkipReason();
const CHILD = fileURLToPath(new URL("../fleet/fixtures/fleet-child.ts", import.meta.url));

// Short but busy-machine-safe timing: 1 s + 2 × 2 s <= 6 s (the lease rule).
const TIMING = { leaseTtlMs: 6_000, keepaliveIntervalMs: 1_000, requestTimeoutMs: 2_000 };

let cluster: EtcdCluster;
let prefixN = 0;
const nodes: FleetNode[] = [];
const children: ChildProcess[] = [];

function prefix(): string {
  return `/wdmesh-test/${process.pid}-${++prefixN}`;
}

async function node(
  p: string,
  name: string,
  host = "h1",
  extra: Partial<FleetNodeOptions> = {},
): Promise<FleetNode> {
  const n = new FleetNode({
    endpoints: cluster.endpoints,
    prefix: p,
    node: name,
    host,
    logger: silentLogger,
    ...TIMING,
    ...extra,
  });
  nodes.push(n);
  await n.start();
  await until(`${name} joined`, () => n.leaseValid(), 20_000);
  return n;
}

interface Child {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(o: object): void;
}

async function child(p: string, name: string, host = "h1"): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: {
      ...process.env,
      FLEET_CHILD: JSON.stringify({ endpoints: cluster.endpoints, prefix: p, node: name, host, ...TIMING }),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(proc);
  const rl: Interface = createInterface({ input: proc.stdout! });
  const lines: Record<string, unknown>[] = [];
  rl.on("line", (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const c: Child = {
    proc,
    next: () => waitFor("a line from the child node", () => lines.shift(), 60_000),
    send: (o) => void proc.stdin!.write(`${JSON.stringify(o)}\n`),
  };
  assert.deepEqual(await c.next(), { ready: true });
  return c;
}

class CountingExecutor implements Executor {
  readonly tokens: (string | undefined)[] = [];
  async restart(_s: unknown, t: RemediationTarget): Promise<ActionResult> {
    this.tokens.push(t.fencingToken);
    return { ok: true, detail: "restarted" };
  }
  async isolate(_s: unknown, t: RemediationTarget) {
    this.tokens.push(t.fencingToken);
    return { result: { ok: true }, record: { method: "none" as const, applied: [] } };
  }
  async release(_s: unknown, _r: unknown, t: RemediationTarget): Promise<ActionResult> {
    this.tokens.push(t.fencingToken);
    return { ok: true };
  }
}

/** Takes half a second, so a racing node claims while the step is in progress. */
class SlowExecutor extends CountingExecutor {
  override async restart(s: unknown, t: RemediationTarget): Promise<ActionResult> {
    await new Promise((r) => setTimeout(r, 500));
    return super.restart(s, t);
  }
}

const signal = new AbortController().signal;
let effectN = 0;

/** A peer in incident `incident` with a restart method (the executor is a fake). */
const peerIn = (incident: string): RemediatedPeer => ({
  spec: { restart: { command: { argv: ["/bin/true"] } } },
  target: {},
  state: { status: "DEGRADED", incidentId: incident },
  isolation: null,
  isolationId: null,
});

/**
 * Node `n` running steps as the daemon does: claimed in etcd (`claimer`, default the
 * fleet's), then taken in the host's step ledger in `ledger` (when given), then run.
 */
function stepper(
  n: FleetNode,
  executor: CountingExecutor,
  o: { ledger?: string; claimer?: StepClaimer } = {},
): {
  restart(peer: string, attempt?: number, incident?: string): Promise<ActionResult>;
  fenced: FencedStep[];
} {
  const fenced: FencedStep[] = [];
  const runner = new EffectRunner({
    executor,
    clock: systemClock,
    logger: silentLogger,
    steps: new StepLog(),
    claimer: o.claimer ?? fleetStepClaimer(n),
    onFenced: (f) => fenced.push(f),
    ...(o.ledger
      ? { fence: new StepFence({ dir: o.ledger, node: n.self, clock: systemClock, logger: silentLogger }) }
      : {}),
  });
  return {
    fenced,
    restart: (peer, attempt = 1, incident = `inc-${++effectN}`) => {
      const e: RemediationEffect = { kind: "restart", actionId: `e${++effectN}`, attempt };
      return runner.run(peer, peerIn(incident), e, signal);
    },
  };
}

/** Restarts `peer` through `s` until one runs (etcd may be electing or coming back); its result. */
const restartOnce = (what: string, s: ReturnType<typeof stepper>, peer: string): Promise<ActionResult> =>
  waitFor(
    what,
    async () => {
      const r = await s.restart(peer);
      return r.ok ? r : undefined;
    },
    30_000,
    { everyMs: 500 },
  );

describe("fleet on a real 3-member etcd", { skip, timeout: 240_000 }, () => {
  before(async () => {
    cluster = await EtcdCluster.start(3);
  });
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(nodes.map((n) => n.stop()));
    await cluster?.stopAll();
  });

  test("membership: nodes join and leave without editing any config; an expired lease is OFFLINE to all", async () => {
    const p = prefix();
    const a = await node(p, "a", "h1");
    const b = await node(p, "b", "h2");
    const c = await child(p, "c", "h3");
    await until(
      "a sees a, b and c",
      () =>
        a
          .members()
          .map((m) => m.node)
          .join() === "a,b,c",
    );
    assert.deepEqual(
      b.members().map((m) => [m.node, m.host]),
      [
        ["a", "h1"],
        ["b", "h2"],
        ["c", "h3"],
      ],
      "b sees the same fleet",
    );
    // b leaves cleanly: its lease is revoked, gone for everyone at once.
    await b.stop();
    await until("a sees b leave", () => !a.members().some((m) => m.node === "b"));
    // c is killed: nobody renews its lease; when it expires c is gone for all.
    const killedAt = Date.now();
    c.proc.kill("SIGKILL");
    await until("a sees c's lease expire", () => !a.members().some((m) => m.node === "c"), 30_000);
    assert.ok(
      Date.now() - killedAt >= TIMING.leaseTtlMs - 1_000,
      "c stayed a member until its lease expired",
    );
  });

  test("a step is taken exactly once by nodes racing for it; the token is the key's create revision", async () => {
    const p = prefix();
    const a = await node(p, "a");
    const b = await node(p, "b");
    const tokens: bigint[] = [];
    for (let round = 0; round < 5; round++) {
      const [ca, cb] = await Promise.all([a.claimStep("agent", "restart"), b.claimStep("agent", "restart")]);
      const winners = [ca, cb].filter((c) => c.ok);
      assert.equal(winners.length, 1, `round ${round}: exactly one claim wins (${JSON.stringify([ca, cb])})`);
      const loser = [ca, cb].find((c) => !c.ok);
      assert.match(loser && !loser.ok ? loser.reason : "", /the step is taken by (a|b) \(token \d+\)/);
      const w = winners[0]!;
      assert.ok(w.ok);
      tokens.push(BigInt(w.token));
      await (ca.ok ? a : b).finishStep(w.key, w.token);
    }
    for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, "tokens only grow");
    // Through the runner: each restart ran once, with a token.
    const eb = new CountingExecutor();
    const slow = new SlowExecutor();
    const [ra, rb] = await Promise.all([stepper(a, slow).restart("agent"), stepper(b, eb).restart("agent")]);
    assert.equal([ra, rb].filter((r) => r.ok).length, 1, `one restart ran: ${JSON.stringify([ra, rb])}`);
    assert.equal(slow.tokens.length + eb.tokens.length, 1);
    assert.ok([...slow.tokens, ...eb.tokens].every((t) => typeof t === "string" && /^\d+$/.test(t)));
  });

  test("a node paused past its lease while another takes the step: its stale token is refused", async () => {
    const p = prefix();
    const a = await node(p, "a");
    const c = await child(p, "c");
    await until("a sees c", () => a.members().some((m) => m.node === "c"));
    c.send({ cmd: "claim", peer: "agent" });
    const claimed = await c.next();
    assert.equal(claimed.ok, true, JSON.stringify(claimed));
    const stale = BigInt(claimed.token as string);
    // c pauses (GC pause, VM freeze...) between taking the step and acting on it.
    c.proc.kill("SIGSTOP");
    await until("c's lease expired for the others", () => !a.members().some((m) => m.node === "c"), 30_000);
    const taken = await a.claimStep("agent", "restart");
    assert.ok(taken.ok, JSON.stringify(taken));
    assert.ok(BigInt(taken.token) > stale, "the new step's token is newer than the paused node's");
    c.proc.kill("SIGCONT");
    c.send({ cmd: "check" });
    const check = await c.next();
    assert.equal(check.token, String(stale));
    assert.match(String(check.refused), /fencing token \d+ refused here/, "the resumed node does not act");
    c.proc.kill("SIGKILL");
  });

  test("a node held up between its etcd claim and the host's ledger: its older token is refused BY THE LEDGER", async () => {
    const p = prefix();
    const ledger = fileTempDir("wdmesh-fleet-ledger-");
    const a = await node(p, "a");
    const c = await node(p, "c");
    // c claims the step in etcd, then is held up before its ledger take (a pause, a slow disk).
    let claimed: (token: number) => void = () => {};
    const gotToken = new Promise<number>((r) => (claimed = r));
    let resume: () => void = () => {};
    const resumed = new Promise<void>((r) => (resume = r));
    const slowC: StepClaimer = {
      async claim(peer, kind) {
        const r = await fleetStepClaimer(c).claim(peer, kind);
        if (r.ok) claimed(r.token);
        await resumed;
        return r;
      },
    };
    const ec = new CountingExecutor();
    const sc = stepper(c, ec, { ledger, claimer: slowC });
    const late = sc.restart("agent", 2, "inc-1");
    const stale = await gotToken;
    // Meanwhile c's lease is gone (it left; an expiry is the same), and a takes the peer.
    await c.stop();
    const ea = new CountingExecutor();
    const r = await stepper(a, ea, { ledger }).restart("agent", 1, "inc-1");
    assert.equal(r.ok, true, JSON.stringify(r));
    const fresh = Number(ea.tokens[0]);
    assert.ok(fresh > stale, `a's token ${fresh} is newer than c's ${stale}`);
    // c goes on: its step reaches the host's ledger with the older token, and stops there.
    resume();
    const rc = await late;
    assert.equal(rc.fenced, true, JSON.stringify(rc));
    assert.match(rc.error ?? "", new RegExp(`fencing token ${stale} is older than ${fresh}`));
    assert.deepEqual(ec.tokens, [], "c's restart never ran");
    assert.equal(sc.fenced[0]?.severity, "INFO");
  });

  /** Two nodes a and b on a fresh prefix, and a stepper of a's counting its restarts. */
  async function twoNodes() {
    const p = prefix();
    const a = await node(p, "a");
    const b = await node(p, "b");
    const ea = new CountingExecutor();
    return { p, a, b, ea, xa: stepper(a, ea) };
  }

  test("one etcd member cut off (frozen): nodes keep their leases and take steps through the others", async () => {
    const { a, b, ea, xa } = await twoNodes();
    const leader = await waitFor("an etcd leader", () => cluster.leader(), 20_000);
    const follower = cluster.members.find((m) => m !== leader && m.proc)!;
    follower.proc!.kill("SIGSTOP");
    try {
      // Longer than a lease: renewals sent to the frozen member fail and are retried elsewhere.
      const until = Date.now() + TIMING.leaseTtlMs * 2;
      let steps = 0;
      for (let i = 0; i < 200 && Date.now() < until; i++) {
        const r = await xa.restart(`agent-${i}`);
        if (r.ok) steps++;
        await new Promise((res) => setTimeout(res, 250));
      }
      assert.ok(steps > 0, "steps were taken while one member was cut off");
      assert.ok(a.leaseValid() && b.leaseValid(), "both nodes kept a valid lease");
      assert.deepEqual(
        b.members().map((m) => m.node),
        ["a", "b"],
        "nobody's lease expired",
      );
      assert.ok(
        ea.tokens.every((t) => t !== undefined),
        "no step without a token",
      );
    } finally {
      follower.proc!.kill("SIGCONT");
    }
  });

  test("a watch stalled on a frozen member: each member frozen in turn, what b publishes still reaches a", async () => {
    const { a, b } = await twoNodes();
    for (const [i, m] of cluster.members.entries()) {
      // Whichever member a's watch stream went to stops answering in one of these rounds
      // without an error; a keeps its lease through the others and must still see b.
      m.proc!.kill("SIGSTOP");
      try {
        b.observe(`frozen-${i}`, true);
        await until(
          `a sees what b published while ${m.name} is frozen`,
          () => a.observations(`frozen-${i}`).failing.includes("b"),
          30_000,
        );
      } finally {
        m.proc!.kill("SIGCONT");
      }
      await cluster.waitHealthy();
    }
  });

  test("etcd leader killed, then all of etcd down: no step without a token; steps again when etcd returns", async () => {
    const { a, b, ea, xa } = await twoNodes();

    const leader = await waitFor("an etcd leader", () => cluster.leader(), 20_000);
    await cluster.kill(leader);
    // Two of three members: etcd keeps its quorum; after the election steps go on.
    await restartOnce("a restart with a token after the leader died", xa, "agent");
    assert.match(ea.tokens.at(-1) ?? "", /^\d+$/);
    cluster.restart(leader);
    await cluster.waitHealthy();
    // a's lease may have lapsed for it while the leader was gone (it then rightly refuses).
    await until("a holds a valid lease again", () => a.leaseValid(), 30_000);

    // A step that ends while etcd is down: its key cannot be given up then.
    const left = await a.claimStep("left-over", "restart");
    assert.ok(left.ok, JSON.stringify(left));
    await cluster.stopAll();
    await until("a holds: etcd unreachable", () => a.holdReason() !== undefined, 30_000);
    await a.finishStep(left.key, left.token);
    assert.match(a.holdReason()!, /etcd unreachable or without quorum/);
    const before = ea.tokens.length;
    const r2 = await xa.restart("agent");
    assert.equal(r2.ok, false);
    assert.match(r2.error ?? "", /restart held: etcd unreachable/);
    assert.equal(ea.tokens.length, before, "nothing ran without a token");
    assert.equal(a.status().etcd, "unreachable");

    await cluster.startAll();
    await until("a and b coordinate again", () => a.leaseValid() && b.leaseValid(), 60_000);
    await restartOnce("a restart once etcd is back", xa, "agent");
    assert.ok(
      ea.tokens.every((t) => t !== undefined),
      "every step that ran carried a token",
    );
    await until("b sees a again", () => b.members().some((m) => m.node === "a"), 30_000);
    await until(
      "the key a could not give up is given up once etcd is back",
      () => !b.stepOn("left-over"),
      30_000,
    );
  });
});
