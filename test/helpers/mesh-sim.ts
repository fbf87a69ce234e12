// A deterministic simulation of a mesh: N nodes in one process, on one fake clock and a
// fake network, each running the product's real decision code — the ladder reducer
// (core/ladder.ts), the mesh gate with its quorum rule, backings and takeover watch
// (mesh/) — under a seeded random schedule of target crashes, broken paths to the
// target, symmetric and one-way partitions, node crashes and restarts (ladder state
// persisted, gate state lost), a node crashing right after it starts a step (before any
// other node could fetch a view listing it), pauses, overload episodes (a node's self
// health turns degraded for a few intervals, maybe several times, maybe several nodes at
// once: it says so in its view and holds its steps, as Monitor does), and delayed and
// reordered messages.
// Steps last up to 3 intervals in some seeds and up to 12 in others (takeover_after is
// the step timeout plus one interval, as the product's default).
//
// What each node does is the Monitor's loop, reduced to its decisions: probe → on a miss
// ask gate.mayAct → ladder step → carry out effects (restart/isolate on the simulated
// target). Views are the real ReceivedView shapes built from the serving node's ladder
// state, gate.backing() and its steps in flight, stamped with the time they were asked
// for, dropped after the poll timeout, and never replacing a newer one (as ViewPoller).
//
// After every event it checks:
//   quorum      every restart/isolate by confirm: majority/all is backed by at least
//               floor(N/2)+1 (all: N) configured nodes that showed the target failing
//               within the view freshness window (3 intervals + the poll timeout)
//   one step    no node starts a restart/isolate of the target while another node's
//               step started less than takeover_after ago
//   isolation   the target is never un-isolated except by an operator release
// and once per run:
//   liveness    the schedule goes quiet: no fault starts after its last 6 intervals, and
//               the quiet point is the first interval boundary from then on with every
//               node up, not paused, not overloaded, every link and path healed and no
//               fault pending (a "crash right after a step" still armed is dropped); from
//               there messages take at most 100 ms (every view arrives), and the target
//               fails (crashed if it was up; a restart finishing does not bring it back)
//               until a step starts. Within livenessBoundIntervals() (takeover_after, the
//               settle period per node, missed_before_restart) some node must start a
//               restart or isolate of it, unless a node already holds it isolated. Past
//               the schedule's end the run goes on until that is decided. A livelock
//               (backings flapping so that no node ever counts a quorum) fails it.
import { rng } from "./rng.js";
import {
  initialState,
  step,
  type Effect,
  type LadderEvent,
  type LadderState,
} from "../../src/core/ladder.js";
import { compilePolicy, restartDelayMs, type Policy } from "../../src/core/options.js";
import {
  createMeshGate,
  SETTLE_INTERVALS,
  showsFailing,
  VIEW_FRESH_INTERVALS,
  type MeshGate,
} from "../../src/mesh/gate.js";
import { requiredConfirmations, type ConfirmMode, type QuorumRule } from "../../src/mesh/quorum.js";
import { viewInFlight, type ReceivedPeer, type ReceivedView } from "../../src/mesh/views.js";
import { holdWhileOverloaded, type InFlightStep } from "../../src/core/gate.js";
import { ablatedRules } from "./mesh-ablations.js";
import type { GateVerdict } from "../../src/monitor.js";
import type { PeerHealth } from "../../src/core/types.js";

/** Probe and view interval, ms. */
export const SIM_INTERVAL = 1_000;
/** Probe and view request deadline, ms. */
export const SIM_TIMEOUT = 500;
/** Longest a simulated restart/isolate takes, ms (its "timeout"), per seed: short or slow steps. */
const SIM_STEP_TIMEOUTS = [3 * SIM_INTERVAL, 12 * SIM_INTERVAL];
const T = "target";
/** After the quiet point, message delays are at most this, ms (every view arrives within the poll timeout). */
const QUIET_MAX_DELAY = 100;
/** A run goes on past its end until the quiet point, at most this long, ms (every fault ends well before). */
const QUIET_CAP = 100 * SIM_INTERVAL;
/**
 * Liveness bound: a step on the failing target starts within this many intervals after the
 * quiet point. Each term is a wait the rule imposes, added up as if none overlapped:
 *   takeover_after + 1   a step started before the quiet point keeps the others off the
 *                        target until takeover_after after they first saw it, up to a poll late
 *   (N - 1) × (settle + 1)  backings converge on one node along a chain: each node moves once
 *                        (to the top, or following the node it backs), its backing counts
 *                        only after the settle period, and shows in the others' next poll
 *   missed_before_restart + 1  the misses the ladder needs, and the probe that acts
 * (Seeds 1–10,000 need at most 11.7 intervals beyond takeover_after; a livelock never acts.)
 */
export const livenessBoundIntervals = (
  takeoverAfterMs: number,
  nodes: number,
  missedBeforeRestart: number,
): number =>
  Math.ceil(takeoverAfterMs / SIM_INTERVAL) +
  1 +
  (nodes - 1) * (SETTLE_INTERVALS + 1) +
  missedBeforeRestart +
  1;

export interface SimOptions {
  seed: number;
  /** Decision rule of every node; default the product's. */
  rule?: QuorumRule;
  /** Simulated time, in intervals. Default 36. */
  intervals?: number;
  /** Record a trace of every event (for replaying one seed). */
  trace?: boolean;
  /** Ablations (mesh-ablations.ts), for every node's gate: false shows what the rule prevents. */
  waitForSilentRemediator?: boolean;
  /** Passed to every node's gate (default true); false shows what it prevents. */
  settleEveryMove?: boolean;
  /** Passed to every node's gate (default true); false shows what it prevents. */
  unsettleDuringOthersStep?: boolean;
  /** Passed to every node's gate (default true); false shows the livelock it prevents. */
  stayWhenBacked?: boolean;
}

export interface SimResult {
  seed: number;
  nodes: number;
  confirm: ConfirmMode;
  violations: string[];
  remediations: number;
  holds: number;
  events: number;
  /** When the schedule went quiet (liveness), ms; null when the run ended before. */
  quietAt: number | null;
  /** ms from the quiet point to the first step on the target (0: already isolated); null: none. */
  remediatedAfterMs: number | null;
  /** takeover_after of this seed, ms. */
  takeoverAfterMs: number;
  trace: string[];
}

type Ev =
  | { k: "probe"; node: number; gen: number; peer: string }
  | { k: "poll"; node: number; gen: number }
  | { k: "req"; from: number; fromGen: number; to: number; askedAt: number }
  | { k: "resp"; to: number; gen: number; member: number; askedAt: number; view: ReceivedView }
  | { k: "done"; node: number; gen: number; id: string; kind: "restart" | "isolate"; attempt: number }
  | { k: "chaos"; what: () => string; fault?: boolean }
  | { k: "quiet" }
  | { k: "deadline" };

interface Queued {
  at: number;
  seq: number;
  ev: Ev;
}

/** Binary min-heap on (at, seq). */
class Queue {
  private h: Queued[] = [];
  get size(): number {
    return this.h.length;
  }
  push(q: Queued): void {
    const h = this.h;
    h.push(q);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p] as Queued, q)) break;
      h[i] = h[p] as Queued;
      i = p;
    }
    h[i] = q;
  }
  pop(): Queued | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && less(h[r] as Queued, h[l] as Queued) ? r : l;
        if (less(last, h[c] as Queued)) break;
        h[i] = h[c] as Queued;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
const less = (a: Queued, b: Queued): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

interface SimNode {
  name: string;
  up: boolean;
  gen: number;
  pausedUntil: number;
  /** Open overload episodes (self health degraded while > 0): it says so and holds its steps. */
  overloaded: number;
  gate: MeshGate;
  /** Ladder state per peer (the target and the members); persisted across crashes. */
  ladder: Map<string, LadderState>;
  views: Map<string, ReceivedView>;
  running: Map<string, InFlightStep>;
  /** Finished steps (kept in views for takeover_after after they started: viewInFlight, as MeshNode does). */
  finished: InFlightStep[];
  notBefore: number;
  /** The node showed the target failing since this time (null: not now). */
  failingSince: number | null;
  /** Last time it showed the target failing. */
  failingUntil: number;
}

interface StepRecord {
  node: string;
  kind: "restart" | "isolate";
  start: number;
  end: number | null;
}

export function simulate(opts: SimOptions): SimResult {
  const rand = rng(opts.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)] as X;
  const N = pick([2, 3, 3, 3, 4, 5]);
  const confirm: ConfirmMode = rand() < 0.75 ? "majority" : "all";
  const K = int(1, 3);
  const R = int(1, 2);
  const names = Array.from({ length: N }, (_, i) => `n${i}`);
  const end = (opts.intervals ?? 36) * SIM_INTERVAL;
  const stepTimeout = pick(SIM_STEP_TIMEOUTS);
  /** takeover_after: the step timeout plus one interval (the product's default rule). */
  const takeoverAfter = stepTimeout + SIM_INTERVAL;
  const timing = {
    interval: SIM_INTERVAL,
    timeout: SIM_TIMEOUT,
    retryInterval: SIM_INTERVAL,
    missedBeforeRestart: K,
    restartsBeforeIsolate: R,
    startupGrace: SIM_INTERVAL,
    restartBackoff: { initial: SIM_INTERVAL, max: 4 * SIM_INTERVAL },
    stableAfter: 20 * SIM_INTERVAL,
  };
  const targetPolicy: Policy = compilePolicy(timing);
  const memberPolicy: Policy = compilePolicy({ ...timing, alertOnly: true });
  const need = requiredConfirmations(confirm, N);
  const freshness = VIEW_FRESH_INTERVALS * SIM_INTERVAL + SIM_TIMEOUT;

  let now = 0;
  let seq = 0;
  let ids = 0;
  let events = 0;
  let holds = 0;
  let maxDelay = pick([5, 100, 450]);
  const q = new Queue();
  /** Fault events scheduled and not run yet (the chaos schedule, overload flags, crashes after a step). */
  let pendingFaults = 0;
  const at = (t: number, ev: Ev): void => {
    if (ev.k === "chaos" && ev.fault === true) pendingFaults++;
    q.push({ at: t, seq: seq++, ev });
  };
  const trace: string[] = [];
  const log = (s: string): void => void (opts.trace && trace.push(`${String(now).padStart(6)} ${s}`));
  const violations: string[] = [];
  const fail = (s: string): void => {
    violations.push(`t=${now}: ${s}`);
    log(`VIOLATION ${s}`);
  };

  // The world: the target, links between nodes (cut counters), each node's path to the target.
  const target = { state: "up" as "up" | "down" | "restarting", isolated: false, pending: 0 };
  const linkCut: number[][] = names.map(() => names.map(() => 0));
  const pathCut: number[] = names.map(() => 0);
  const linkUp = (a: number, b: number): boolean => (linkCut[a] as number[])[b] === 0;
  const bump = (a: number, b: number, d: number): void => {
    const row = linkCut[a] as number[];
    row[b] = (row[b] ?? 0) + d;
  };
  const steps: StepRecord[] = [];
  /** How many of the next steps' nodes crash right after starting them (chaos). */
  let crashAfterStep = 0;
  /** Liveness: when the schedule went quiet, and when a step on the target first started after. */
  let quietAt: number | null = null;
  let remediatedAt: number | null = null;
  const livenessBound = livenessBoundIntervals(takeoverAfter, N, K) * SIM_INTERVAL;
  const clock = {
    now: () => now,
    monotonic: () => now,
    setTimeout: () => 0,
    clearTimeout: () => {},
    sleep: async () => {},
  };

  const nodes: SimNode[] = [];
  const rules = ablatedRules(opts);
  const newGate = (i: number): MeshGate => {
    const self = names[i] as string;
    return createMeshGate(
      {
        self,
        members: names.filter((n) => n !== self),
        confirm,
        // The gate reads status and missed_count only; the full PeerHealth (toPeerHealth)
        // formats timestamps and would make the simulation several times slower.
        health: (p) => {
          const s = nodes[i]?.ladder.get(p);
          return s ? ({ name: p, status: s.status, missed_count: s.missed } as PeerHealth) : undefined;
        },
        view: (m) => nodes[i]?.views.get(m),
        intervalMs: SIM_INTERVAL,
        takeoverAfterMs: takeoverAfter,
        selfDegraded: () => (nodes[i]?.overloaded ?? 0) > 0,
        lastOwnStepAt: () => {
          const n = nodes[i];
          let last: number | undefined;
          for (const f of [...(n?.finished ?? []), ...(n?.running.values() ?? [])])
            last = Math.max(last ?? 0, f.startedAt);
          return last;
        },
        ...(opts.rule ? { rule: opts.rule } : {}),
        clock,
      },
      rules,
    );
  };
  for (let i = 0; i < N; i++) {
    const ladder = new Map<string, LadderState>([[T, initialState()]]);
    for (const m of names) if (m !== names[i]) ladder.set(m, initialState());
    nodes.push({
      name: names[i] as string,
      up: true,
      gen: 0,
      pausedUntil: 0,
      overloaded: 0,
      gate: undefined as unknown as MeshGate,
      ladder,
      views: new Map(),
      running: new Map(),
      finished: [],
      notBefore: 0,
      failingSince: null,
      failingUntil: -Infinity,
    });
    (nodes[i] as SimNode).gate = newGate(i);
  }
  const index = new Map(names.map((n, i) => [n, i]));

  const boot = (i: number): void => {
    const n = nodes[i] as SimNode;
    for (const p of n.ladder.keys())
      at(now + int(0, SIM_INTERVAL - 1), { k: "probe", node: i, gen: n.gen, peer: p });
    at(now + int(0, 50), { k: "poll", node: i, gen: n.gen });
  };
  for (let i = 0; i < N; i++) boot(i);

  const trackFailing = (n: SimNode): void => {
    const s = n.ladder.get(T) as LadderState;
    const f = showsFailing({ status: s.status, missed_count: s.missed });
    if (f && n.failingSince === null) n.failingSince = now;
    if (!f && n.failingSince !== null) {
      n.failingSince = null;
      n.failingUntil = now;
    }
  };

  const confirmedBy = (): string[] =>
    nodes.filter((n) => n.failingSince !== null || now - n.failingUntil <= freshness).map((n) => n.name);

  const startStep = (
    i: number,
    e: Extract<Effect, { kind: "restart" | "isolate" }>,
    incident: string | null,
  ) => {
    const n = nodes[i] as SimNode;
    // Invariant: quorum of the configured nodes saw the failure.
    const saw = confirmedBy();
    if (!saw.includes(n.name) || saw.length < need) {
      fail(
        `${n.name} ${e.kind} with only ${saw.length} of ${N} nodes seeing the failure (${saw.join(",")}), ${need} needed`,
      );
    }
    // Invariant: no other node's step within takeover_after.
    for (const s of steps) {
      if (s.node !== n.name && now < s.start + takeoverAfter) {
        fail(
          `${n.name} ${e.kind} ${now - s.start} ms after ${s.node}'s ${s.kind} (takeover_after ${takeoverAfter})`,
        );
      }
    }
    const rec: StepRecord = { node: n.name, kind: e.kind, start: now, end: null };
    steps.push(rec);
    if (quietAt !== null && remediatedAt === null) remediatedAt = now;
    const attempt = e.kind === "restart" ? e.attempt : 0;
    n.running.set(e.actionId, { peer: T, incident, step: e.kind, attempt, startedAt: now, finishedAt: null });
    if (e.kind === "restart") {
      target.state = "restarting";
      target.pending++;
    } else {
      target.isolated = true;
    }
    log(`${n.name} starts ${e.kind}${e.kind === "restart" ? ` ${e.attempt}` : ""}`);
    if (crashAfterStep > 0) {
      crashAfterStep--;
      const gen = n.gen;
      const dur = int(4, 24) * SIM_INTERVAL;
      at(now + int(1, 60), {
        k: "chaos",
        fault: true,
        what: () => (n.gen === gen ? crash(i, dur) : `${n.name} already restarted`),
      });
    }
    at(now + int(0, stepTimeout - SIM_INTERVAL / 2), {
      k: "done",
      node: i,
      gen: n.gen,
      id: e.actionId,
      kind: e.kind,
      attempt,
    });
  };

  /** Steps the ladder of node i for peer p with `event`; carries out the effects. */
  const apply = (i: number, p: string, event: LadderEvent): void => {
    const n = nodes[i] as SimNode;
    const prev = n.ladder.get(p) as LadderState;
    const out = step(prev, event, p === T ? targetPolicy : memberPolicy, {
      now,
      node: n.name,
      peer: p,
      newId: () => `id${++ids}`,
    });
    n.ladder.set(p, out.state);
    if (p === T) trackFailing(n);
    for (const e of out.effects) {
      if (e.kind === "emit") {
        if (e.action.action === "remediation_held") holds++;
        if (e.action.action !== "alert" || p === T)
          log(`${n.name} emits ${e.action.action} ${p}: ${e.action.reason}`);
        continue;
      }
      if (p !== T) {
        fail(`${n.name} ran ${e.kind} on member ${p}`);
        continue;
      }
      if (e.kind === "release") {
        if (event.type !== "release") fail(`${n.name} released ${p} without an operator release`);
        if (target.isolated) log(`${n.name} releases the target (operator)`);
        target.isolated = false;
        continue;
      }
      startStep(i, e, out.state.incidentId);
    }
  };

  /**
   * A member that answered and stays healthy: the ladder would change only its last-seen
   * time and response time, which nothing here reads (the gate reads status and
   * missed_count), so its step is skipped (a third of the run time).
   */
  const steady = (s: LadderState): boolean =>
    s.status === "HEALTHY" &&
    s.missed === 0 &&
    s.restarts === 0 &&
    s.incidentId === null &&
    s.silencedUntil === null &&
    s.okStreak >= memberPolicy.successThreshold;

  const probe = (i: number, p: string): void => {
    const n = nodes[i] as SimNode;
    if (p === T && n.running.size > 0) return; // the peer's lock is held by the step
    let ok: boolean;
    if (p === T) ok = pathCut[i] === 0 && target.state === "up" && !target.isolated;
    else {
      const j = index.get(p) as number;
      const m = nodes[j] as SimNode;
      ok = linkUp(i, j) && linkUp(j, i) && m.up && m.pausedUntil <= now;
    }
    if (ok) {
      if (p === T || !steady(n.ladder.get(p) as LadderState))
        apply(i, p, { type: "probe-ok", durationMs: 1 });
    } else {
      // An overloaded node holds what it would do: the shipped rule (Monitor.mayAct).
      const v: GateVerdict = holdWhileOverloaded(
        n.gate.mayAct(p),
        p === T && n.overloaded > 0 ? "overloaded" : undefined,
      );
      if (opts.trace && p === T) {
        const d = n.gate.decide(p);
        log(
          `${n.name} misses: confirming ${d.confirming.join(",")} backs ${d.backs} backers ${d.backers.join(",")}: ${d.why}`,
        );
      }
      apply(i, p, { type: "probe-miss", durationMs: 1, error: "sim", ...v });
    }
    if (p !== T || n.running.size === 0) {
      at(Math.max(now + SIM_INTERVAL, p === T ? n.notBefore : 0), {
        k: "probe",
        node: i,
        gen: n.gen,
        peer: p,
      });
    }
  };

  const viewOf = (j: number, askedAt: number): ReceivedView => {
    const m = nodes[j] as SimNode;
    const s = m.ladder.get(T) as LadderState;
    const b = m.gate.backing(T);
    const entry: ReceivedPeer = {
      status: s.status,
      missed_count: s.missed,
      ...(b ? { backs: b.backs, backs_stable_ms: b.stableMs } : {}),
    };
    return {
      node: m.name,
      receivedAt: askedAt,
      peers: new Map([[T, entry]]),
      ...(m.overloaded > 0 ? { degraded: true } : {}),
      inFlight: viewInFlight([...m.finished, ...m.running.values()], now, () => takeoverAfter),
    };
  };

  const delay = (): number => int(0, maxDelay);

  const handle = (ev: Ev): void => {
    switch (ev.k) {
      case "probe":
        probe(ev.node, ev.peer);
        return;
      case "poll": {
        const n = nodes[ev.node] as SimNode;
        for (let j = 0; j < N; j++) {
          if (j === ev.node || !linkUp(ev.node, j)) continue;
          at(now + delay(), { k: "req", from: ev.node, fromGen: n.gen, to: j, askedAt: now });
        }
        at(now + SIM_INTERVAL, { k: "poll", node: ev.node, gen: n.gen });
        return;
      }
      case "req": {
        if (!linkUp(ev.to, ev.from)) return;
        const view = viewOf(ev.to, ev.askedAt);
        at(now + delay(), {
          k: "resp",
          to: ev.from,
          gen: ev.fromGen,
          member: ev.to,
          askedAt: ev.askedAt,
          view,
        });
        return;
      }
      case "resp": {
        const n = nodes[ev.to] as SimNode;
        if (now - ev.askedAt > SIM_TIMEOUT) return; // the poller gave up on it
        const name = names[ev.member] as string;
        const old = n.views.get(name);
        if (old && old.receivedAt > ev.askedAt) return;
        n.views.set(name, ev.view);
        return;
      }
      case "done": {
        const n = nodes[ev.node] as SimNode;
        // The command finishes whether or not its node is still alive.
        const rec = steps.find((s) => s.node === n.name && s.end === null && s.kind === ev.kind);
        if (rec) rec.end = now;
        // From the quiet point until a step starts, the target stays failed: a restart
        // that started before does not bring it back.
        if (ev.kind === "restart" && --target.pending === 0)
          target.state = quietAt !== null && remediatedAt === null ? "down" : "up";
        if (!n.up || n.gen !== ev.gen) return;
        const s = n.running.get(ev.id);
        n.running.delete(ev.id);
        if (s) n.finished.push({ ...s, finishedAt: now });
        if (ev.kind === "restart") n.notBefore = now + restartDelayMs(targetPolicy, Math.max(1, ev.attempt));
        log(`${n.name} finished ${ev.kind}`);
        at(Math.max(now, n.notBefore), { k: "probe", node: ev.node, gen: n.gen, peer: T });
        return;
      }
      case "chaos":
        if (ev.fault === true) pendingFaults--;
        log(`chaos: ${ev.what()}`);
        return;
      case "quiet": {
        const calm =
          pendingFaults === 0 &&
          nodes.every((n) => n.up && n.pausedUntil <= now && n.overloaded === 0) &&
          pathCut.every((c) => c === 0) &&
          linkCut.every((row) => row.every((c) => c === 0));
        if (!calm) {
          at(now + SIM_INTERVAL, { k: "quiet" });
          return;
        }
        quietAt = now;
        crashAfterStep = 0; // armed but never fired: it would be a fault after the quiet point
        maxDelay = Math.min(maxDelay, QUIET_MAX_DELAY);
        if (!target.isolated && target.state === "up") target.state = "down";
        const isolatedBy = nodes.filter((n) => n.ladder.get(T)?.status === "ISOLATED").map((n) => n.name);
        if (target.isolated || isolatedBy.length > 0) remediatedAt = now;
        log(
          `quiet: every node up and well, network healed; the target stays failed` +
            (remediatedAt === null
              ? ""
              : ` (already isolated${isolatedBy.length ? ` by ${isolatedBy.join(",")}` : ""})`),
        );
        at(now + livenessBound, { k: "deadline" });
        return;
      }
      case "deadline": {
        if (remediatedAt !== null) return;
        const why = nodes.map((n) => {
          const s = n.ladder.get(T) as LadderState;
          const d = n.gate.decide(T);
          return `${n.name} ${s.status} missed ${s.missed}, backs ${d.backs}: ${d.why}`;
        });
        fail(
          `liveness: no node started a step on the target within ${livenessBound / SIM_INTERVAL} intervals ` +
            `of the quiet point t=${quietAt} (target failing, every node up and well, network healed): ${why.join("; ")}`,
        );
        return;
      }
    }
  };

  const nodeOf = (ev: Ev): number | undefined =>
    ev.k === "probe" || ev.k === "poll"
      ? ev.node
      : ev.k === "req"
        ? ev.to
        : ev.k === "resp"
          ? ev.to
          : undefined;
  const genOf = (ev: Ev): number | undefined =>
    ev.k === "probe" || ev.k === "poll" || ev.k === "resp" ? ev.gen : undefined;

  // ---- the chaos schedule
  /** Node i crashes now for `dur` ms; it restarts with its ladder state, not its gate state. */
  function crash(i: number, dur: number): string {
    const n = nodes[i] as SimNode;
    if (!n.up) return `${n.name} already down`;
    n.up = false;
    n.gen++;
    // The state file keeps steps written pending; on restart the node lists them (as
    // Monitor.resume does), so the others still see them for takeover_after.
    for (const r of n.running.values()) n.finished.push({ ...r, finishedAt: now });
    n.running.clear();
    n.views.clear();
    if (n.failingSince !== null) {
      n.failingSince = null;
      n.failingUntil = now;
    }
    at(now + dur, {
      k: "chaos",
      what: () => {
        n.up = true;
        n.gate = newGate(i); // gate state (backings, takeover watch) is not persisted
        n.notBefore = 0;
        n.pausedUntil = 0;
        trackFailing(n);
        boot(i);
        return `${n.name} restarts (ladder state persisted)`;
      },
    });
    return `${n.name} crashes for ${dur} ms`;
  }

  const cutLinks = (pairs: Array<[number, number]>, dur: number): void => {
    for (const [a, b] of pairs) bump(a, b, 1);
    at(now + dur, {
      k: "chaos",
      what: () => {
        for (const [a, b] of pairs) bump(a, b, -1);
        return `links healed: ${pairs.map(([a, b]) => `${names[a]}->${names[b]}`).join(" ")}`;
      },
    });
  };
  const chaos: Array<[number, () => string]> = [
    [
      3,
      () => {
        if (target.state === "up") target.state = "down";
        return "target crashes";
      },
    ],
    [
      3,
      () => {
        const i = int(0, N - 1);
        const dur = int(1, 12) * SIM_INTERVAL;
        pathCut[i] = (pathCut[i] ?? 0) + 1;
        at(now + dur, {
          k: "chaos",
          what: () => {
            pathCut[i] = (pathCut[i] ?? 0) - 1;
            return `${names[i]}'s path to the target healed`;
          },
        });
        return `${names[i]} loses its path to the target for ${dur} ms`;
      },
    ],
    [
      2,
      () => {
        const side = names.map(() => rand() < 0.5);
        const pairs: Array<[number, number]> = [];
        for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) if (side[a] !== side[b]) pairs.push([a, b]);
        const dur = int(1, 12) * SIM_INTERVAL;
        cutLinks(pairs, dur);
        return `symmetric partition ${names.filter((_, i) => side[i]).join(",")} | ${names.filter((_, i) => !side[i]).join(",")} for ${dur} ms`;
      },
    ],
    [
      2,
      () => {
        const a = int(0, N - 1);
        const b = (a + int(1, N - 1)) % N;
        const dur = int(1, 12) * SIM_INTERVAL;
        cutLinks([[a, b]], dur);
        return `one-way cut ${names[a]}->${names[b]} for ${dur} ms`;
      },
    ],
    [
      2,
      () => {
        const a = int(0, N - 1);
        const pairs: Array<[number, number]> = [];
        for (let b = 0; b < N; b++) if (b !== a) pairs.push([a, b], [b, a]);
        const dur = int(1, 12) * SIM_INTERVAL;
        cutLinks(pairs, dur);
        return `${names[a]} cut off from every member for ${dur} ms`;
      },
    ],
    [2, () => crash(int(0, N - 1), int(1, 12) * SIM_INTERVAL)],
    [
      2,
      () => {
        crashAfterStep++;
        return "the next node to start a step crashes right after starting it";
      },
    ],
    [
      2,
      () => {
        const i = int(0, N - 1);
        const n = nodes[i] as SimNode;
        const dur = int(SIM_INTERVAL / 2, 8 * SIM_INTERVAL);
        n.pausedUntil = Math.max(n.pausedUntil, now + dur);
        return `${n.name} paused for ${dur} ms`;
      },
    ],
    [
      2,
      () => {
        // Overload, as self health sees it: degraded for a few intervals, then well again,
        // sometimes flapping; one node or several at once, each on its own timing.
        const who = names.map((_, i) => i).filter(() => rand() < 0.5);
        if (who.length === 0) who.push(int(0, N - 1));
        const parts: string[] = [];
        for (const i of who) {
          const n = nodes[i] as SimNode;
          let t = now + int(0, SIM_INTERVAL);
          for (let k = int(1, 3); k > 0; k--) {
            const dur = int(SIM_INTERVAL / 2, 6 * SIM_INTERVAL);
            at(t, {
              k: "chaos",
              fault: true,
              what: () => {
                n.overloaded++;
                return `${n.name} overloaded (self health degraded)`;
              },
            });
            at(t + dur, {
              k: "chaos",
              what: () => {
                n.overloaded--;
                return `${n.name} ${n.overloaded > 0 ? "still overloaded" : "well again"}`;
              },
            });
            parts.push(`${n.name} ${t - now}+${dur}`);
            t += dur + int(SIM_INTERVAL / 4, 3 * SIM_INTERVAL);
          }
        }
        return `overload episodes (start+ms): ${parts.join(" ")}`;
      },
    ],
    [
      1,
      () => {
        const i = int(0, N - 1);
        const n = nodes[i] as SimNode;
        if (!n.up || n.pausedUntil > now) return `release at ${n.name} skipped (node not running)`;
        apply(i, T, { type: "release", by: "operator" });
        return `operator releases the target at ${n.name}`;
      },
    ],
    [
      1,
      () => {
        maxDelay = pick([5, 100, 450, 700]);
        return `message delays now up to ${maxDelay} ms`;
      },
    ],
  ];
  const total = chaos.reduce((s, [w]) => s + w, 0);
  const nChaos = int(4, 12);
  for (let c = 0; c < nChaos; c++) {
    let r = rand() * total;
    let fn = (chaos[0] as [number, () => string])[1];
    for (const [w, f] of chaos) {
      if ((r -= w) < 0) {
        fn = f;
        break;
      }
    }
    at(int(0, end - 6 * SIM_INTERVAL), { k: "chaos", what: fn, fault: true });
  }
  // Liveness: from the last time a fault may start, look each interval for the quiet point.
  at(end - 6 * SIM_INTERVAL, { k: "quiet" });

  // ---- run
  for (;;) {
    const next = q.pop();
    // Past the schedule's end, run on until liveness is decided (a step after the quiet
    // point, or the deadline after it); every fault ends, so the quiet point comes.
    if (!next) break;
    if (next.at > end) {
      if (quietAt !== null && (remediatedAt !== null || next.at > quietAt + livenessBound)) break;
      if (next.at > end + QUIET_CAP) {
        fail(`the schedule never went quiet within ${QUIET_CAP / SIM_INTERVAL} intervals of its end`);
        break;
      }
    }
    now = next.at;
    const ev = next.ev;
    const i = nodeOf(ev);
    if (i !== undefined) {
      const n = nodes[i] as SimNode;
      if (!n.up) continue;
      const g = genOf(ev);
      if (g !== undefined && g !== n.gen) continue;
      if (n.pausedUntil > now) {
        at(n.pausedUntil, ev); // a paused node handles it when it resumes, in order
        continue;
      }
    }
    events++;
    handle(ev);
  }
  return {
    seed: opts.seed,
    nodes: N,
    confirm,
    violations,
    remediations: steps.length,
    holds,
    events,
    quietAt,
    remediatedAfterMs: quietAt === null || remediatedAt === null ? null : remediatedAt - quietAt,
    takeoverAfterMs: takeoverAfter,
    trace,
  };
}

/** Seeds the suite runs (SIM_SEEDS overrides), split into shards that run as separate files. */
export const SIM_SEEDS = Number(process.env.SIM_SEEDS ?? 10_000);
/** Seeds of shard `k` of `n` (1-based), inclusive. */
export function seedShard(k: number, n: number): [number, number] {
  const size = Math.ceil(SIM_SEEDS / n);
  return [(k - 1) * size + 1, Math.min(SIM_SEEDS, k * size)];
}

/**
 * Runs seeds from..to (inclusive) and returns those that break an invariant; with `until`,
 * stops at the first of them `until` accepts.
 */
export function sweep(
  from: number,
  to: number,
  opts: Partial<SimOptions> = {},
  until?: (r: SimResult) => boolean,
): SimResult[] {
  const failing: SimResult[] = [];
  for (let seed = from; seed <= to; seed++) {
    const r = simulate({ seed, ...opts });
    if (r.violations.length === 0) continue;
    failing.push(r);
    if (until?.(r)) break;
  }
  return failing;
}

/** The failing seeds of from..to, as a message that names the first five and how to replay them. */
export function seedsThatFail(from: number, to: number): { seeds: number[]; message: string } {
  const failing = sweep(from, to);
  return {
    seeds: failing.map((r) => r.seed),
    message: `${failing.length} seeds violate an invariant:\n${failing.slice(0, 5).map(describeFailure).join("\n")}`,
  };
}

/** The invariant (header comment) a violation breaks. */
export function invariantOf(violation: string): string {
  if (violation.includes(": liveness: ")) return "liveness";
  if (/ after n\d+'s (restart|isolate) /.test(violation)) return "one step";
  if (violation.includes(" nodes seeing the failure ")) return "quorum";
  if (violation.includes(" without an operator release")) return "isolation";
  return "the simulation's own rules";
}

/** One failing seed, the invariant it breaks first, and how to replay it with a trace. */
export const describeFailure = (r: SimResult): string =>
  `seed ${r.seed} (${r.nodes} nodes, confirm ${r.confirm}) breaks ${invariantOf(r.violations[0] ?? "")}: ${r.violations[0]}\n` +
  `  replay: SIM_SEED=${r.seed} node scripts/run-tests.mjs test/mesh/simulation.test.ts`;
