// The escalation ladder (miss → restart → isolate, release by an operator) as a pure reducer:
//   step(state, event, policy, ctx) → { state, effects }
// No I/O, no timers, no Date.now(): time and ids come in through `ctx`.
// Counts drive escalation; time only decides when the next probe happens (schedule/).
import type { Policy } from "./options.js";
import type { ActionKind, EscalationAction, PeerStatus, Severity } from "./types.js";
import { iso } from "./duration.js";

/** Everything the ladder remembers about one peer. Times are epoch ms. */
export interface LadderState {
  status: PeerStatus;
  /** Consecutive misses since the last ok / restart (missed_count). */
  missed: number;
  /** Restarts issued since the peer was last stable (restart_count). */
  restarts: number;
  /** Open incident, or null. An incident opens on the first miss and closes on recovery or release. */
  incidentId: string | null;
  /** The MEDIUM `alert` of the open incident was emitted. */
  alerted: boolean;
  /**
   * The HIGH `remediation_held` of the open incident was emitted (a step was held back).
   * Optional: state written before holds existed has no such field (= false).
   */
  held?: boolean;
  /** The INFO `remediation_observed` of the open incident was emitted (absent: not yet). */
  observed?: boolean;
  /** The HIGH `remediation_stalled` of the open incident was emitted (absent: not yet). */
  stalled?: boolean;
  /** Consecutive ok probes (for successThreshold). */
  okStreak: number;
  lastSeenAt: number | null;
  lastRestartAt: number | null;
  isolatedAt: number | null;
  /** When the current HEALTHY streak began (for stableAfter). */
  healthySince: number | null;
  /** Maintenance: probed and shown, never escalated, until this time. */
  silencedUntil: number | null;
  lastError: string | null;
  responseTimeMs: number;
}

export type LadderEvent =
  | { type: "probe-ok"; durationMs: number }
  /**
   * `act: false` — observe only (mesh: another node owns remediation of this peer):
   * count and show, emit nothing, do nothing.
   * `act: false` with `hold` — this node would remediate but must not (no quorum, this
   * node is overloaded): count and show like observe-only, and where the ladder would
   * step to restart/isolate, emit `remediation_held` (HIGH) with `hold` as the reason,
   * once per incident. The peer stays where it is.
   * `observe` — why this node only observes (who remediates): journaled once per incident
   * as `remediation_observed` (INFO) once the peer is past missedBeforeRestart.
   * `stalled` — another node's step on this peer did not finish within takeover_after:
   * `remediation_stalled` (HIGH) once per incident.
   * `quiet` — the miss belongs to another incident (a failing dependency, a storm of
   * failures, a fleet host that lost its node) or is paged by another node (the node on the
   * peer's own host): counted and shown only, whatever `act` says
   * (never stepped, alerted or journaled for this peer, and no incident of its own opened).
   */
  | {
      type: "probe-miss";
      durationMs: number;
      error: string;
      act?: boolean;
      hold?: string;
      observe?: string;
      stalled?: string;
      quiet?: boolean;
    }
  /**
   * The probe could not tell (the failure was local to this node: fd exhaustion, a failed
   * spawn, or this node was stalled past the deadline). Not a miss: only shown.
   */
  | { type: "probe-inconclusive"; durationMs: number; error: string }
  /** Operator: undo isolation, reset counters, close the incident. */
  | { type: "release"; by?: string }
  /** Operator: silence until `until` (epoch ms), or lift the silence with null. */
  | { type: "silence"; until: number | null }
  /** Operator: restart now, outside the ladder's counting. */
  | { type: "operator-restart"; by?: string }
  /** Time passed: expire silences, reset restart_count after stableAfter. */
  | { type: "tick" };

/** A probe miss and what the Monitor decided about acting on it. */
type MissEvent = Extract<LadderEvent, { type: "probe-miss" }>;

export type Effect =
  | { kind: "emit"; action: EscalationAction }
  /** Run the peer's restart method; `actionId` is the idempotency id and links the result. */
  | { kind: "restart"; actionId: string; attempt: number }
  | { kind: "isolate"; actionId: string }
  /** Undo the isolation that was applied and start the peer again. */
  | { kind: "release"; actionId: string; wasIsolated: boolean };

/** An effect that acts on the world (restart, isolate, release): every kind but `emit`. */
export type RemediationEffect = Exclude<Effect, { kind: "emit" }>;

export interface StepContext {
  now: number;
  /** This node's name, stamped on actions. */
  node: string;
  peer: string;
  /** Fresh unique id (actions and incidents). */
  newId: () => string;
  /**
   * The command an operator types to release this peer, named in the CRITICAL alert
   * (e.g. with --url when the node is not on the default address). Default
   * `wdmesh release PEER`.
   */
  releaseCommand?: string;
}

export interface StepOutput {
  state: LadderState;
  effects: Effect[];
}

export function initialState(): LadderState {
  return {
    status: "UNKNOWN",
    missed: 0,
    restarts: 0,
    incidentId: null,
    alerted: false,
    held: false,
    okStreak: 0,
    lastSeenAt: null,
    lastRestartAt: null,
    isolatedAt: null,
    healthySince: null,
    silencedUntil: null,
    lastError: null,
    responseTimeMs: 0,
  };
}

export function isSilenced(s: LadderState, now: number): boolean {
  return s.silencedUntil !== null && s.silencedUntil > now;
}

function action(
  ctx: StepContext,
  kind: ActionKind,
  severity: Severity,
  reason: string,
  incidentId: string | null,
): EscalationAction {
  return {
    timestamp: iso(ctx.now) as string,
    peer_name: ctx.peer,
    action: kind,
    reason,
    severity,
    id: ctx.newId(),
    incident_id: incidentId,
    node: ctx.node,
  };
}

/** Applies expiry rules that depend only on time: silence end, stable_after reset. */
function expire(s: LadderState, p: Policy, now: number): LadderState {
  let out = s;
  if (out.silencedUntil !== null && out.silencedUntil <= now) out = { ...out, silencedUntil: null };
  if (
    out.status === "HEALTHY" &&
    out.restarts > 0 &&
    out.healthySince !== null &&
    now - out.healthySince >= p.stableAfterMs
  ) {
    out = { ...out, restarts: 0 };
  }
  return out;
}

function onOk(s: LadderState, e: { durationMs: number }, p: Policy, ctx: StepContext): StepOutput {
  const seen = { ...s, lastSeenAt: ctx.now, responseTimeMs: Math.round(e.durationMs), lastError: null };
  if (s.status === "ISOLATED") return { state: seen, effects: [] };
  const okStreak = Math.min(s.okStreak + 1, p.successThreshold);
  if (okStreak < p.successThreshold) {
    return { state: { ...seen, okStreak, missed: 0 }, effects: [] };
  }
  const effects: Effect[] = [];
  if (s.incidentId !== null) {
    effects.push({
      kind: "emit",
      action: action(
        ctx,
        "recovered",
        "INFO",
        `peer ${ctx.peer} answers again` +
          (s.restarts > 0 ? ` after ${s.restarts} restart${s.restarts === 1 ? "" : "s"}` : ""),
        s.incidentId,
      ),
    });
  }
  const { observed: _observed, stalled: _stalled, ...rest } = seen;
  const state: LadderState = {
    ...rest,
    status: "HEALTHY",
    okStreak,
    missed: 0,
    incidentId: null,
    alerted: false,
    held: false,
    healthySince: s.status === "HEALTHY" && s.healthySince !== null ? s.healthySince : ctx.now,
  };
  return { state: expire(state, p, ctx.now), effects };
}

/** A held step: the peer stays where it is; `remediation_held` once per incident. */
function onHeld(
  s: LadderState,
  base: LadderState,
  missed: number,
  hold: string,
  p: Policy,
  ctx: StepContext,
): StepOutput {
  const status: PeerStatus = s.status === "OFFLINE" ? "OFFLINE" : "DEGRADED";
  const state: LadderState = { ...base, missed, status };
  if (s.held === true) return { state, effects: [] };
  const incidentId = s.incidentId ?? ctx.newId();
  const held =
    s.restarts < p.restartsBeforeIsolate
      ? `restart attempt ${s.restarts + 1} of ${p.restartsBeforeIsolate}`
      : "isolation";
  const a = action(
    ctx,
    "remediation_held",
    "HIGH",
    `peer ${ctx.peer} missed ${missed} heartbeat${missed === 1 ? "" : "s"}` +
      (base.lastError ? ` (${base.lastError})` : "") +
      ` — ${held} is held: ${hold}`,
    incidentId,
  );
  return { state: { ...state, incidentId, held: true }, effects: [{ kind: "emit", action: a }] };
}

/**
 * A miss past missedBeforeRestart that another node is left to remediate, or whose
 * remediator stalled, is never silent: each is journaled once per incident.
 */
function onMiss(s: LadderState, e: MissEvent, p: Policy, ctx: StepContext): StepOutput {
  const out = onMissSteps(s, e, p, ctx);
  const k = p.missedBeforeRestart;
  if (
    isSilenced(s, ctx.now) ||
    s.status === "ISOLATED" ||
    s.missed + 1 < k ||
    p.alertOnly === true ||
    e.quiet === true
  )
    return out;
  const notes: Effect[] = [];
  let state = out.state;
  const incidentId = state.incidentId ?? s.incidentId ?? ctx.newId();
  const seen = `peer ${ctx.peer} missed ${s.missed + 1} heartbeat${s.missed === 0 ? "" : "s"}`;
  if (e.stalled !== undefined && s.stalled !== true) {
    notes.push({
      kind: "emit",
      action: action(
        ctx,
        "remediation_stalled",
        "HIGH",
        `${seen} — remediation stalled: ${e.stalled}`,
        incidentId,
      ),
    });
    state = { ...state, incidentId, stalled: true };
  }
  if (e.act === false && e.hold === undefined && s.observed !== true) {
    const who = e.observe === undefined ? "another node remediates it" : e.observe;
    notes.push({
      kind: "emit",
      action: action(
        ctx,
        "remediation_observed",
        "INFO",
        `${seen} — this node only observes: ${who}`,
        incidentId,
      ),
    });
    state = { ...state, incidentId, observed: true };
  }
  return notes.length === 0 ? out : { state, effects: [...notes, ...out.effects] };
}

function onMissSteps(s: LadderState, e: MissEvent, p: Policy, ctx: StepContext): StepOutput {
  const base: LadderState = { ...s, lastError: e.error, okStreak: 0, healthySince: null };
  if (s.status === "ISOLATED") return { state: base, effects: [] };
  const missed = s.missed + 1;
  const k = p.missedBeforeRestart;
  if (!isSilenced(s, ctx.now) && e.quiet !== true && e.act === false && e.hold !== undefined && missed >= k) {
    return onHeld(s, base, missed, e.hold, p, ctx);
  }
  // `act` gates remediation only: a node that may not act (another node remediates) still
  // reports the first miss of an incident below, so every watcher alerts once (the alerts'
  // identity lets receivers merge them into one notification). A quiet miss belongs to
  // another incident: it opens none of its own (so the peer's own first miss, once that
  // incident is over, is alerted) and never steps.
  if (isSilenced(s, ctx.now) || e.quiet === true || (e.act === false && missed >= k)) {
    const status: PeerStatus = s.status === "OFFLINE" ? "OFFLINE" : "DEGRADED";
    return { state: { ...base, missed, status }, effects: [] };
  }
  const incidentId = s.incidentId ?? ctx.newId();
  const why = e.error ? ` (${e.error})` : "";

  if (missed < k) {
    if (s.status === "OFFLINE") return { state: { ...base, missed, incidentId }, effects: [] };
    const effects: Effect[] = [];
    if (!s.alerted) {
      effects.push({
        kind: "emit",
        action: action(
          ctx,
          "alert",
          "MEDIUM",
          `peer ${ctx.peer} missed ${missed} heartbeat${missed === 1 ? "" : "s"}${why}`,
          incidentId,
        ),
      });
    }
    return { state: { ...base, status: "DEGRADED", missed, incidentId, alerted: true }, effects };
  }

  if (p.alertOnly === true) {
    // Watched only (a mesh member): OFFLINE with one HIGH alert, never restarted or isolated.
    if (s.status === "OFFLINE") return { state: { ...base, missed, incidentId }, effects: [] };
    const a = action(
      ctx,
      "alert",
      "HIGH",
      `peer ${ctx.peer} missed ${missed} heartbeats${why} — OFFLINE; it is only watched, never restarted or isolated`,
      incidentId,
    );
    return {
      state: { ...base, status: "OFFLINE", missed, incidentId, alerted: true },
      effects: [{ kind: "emit", action: a }],
    };
  }

  if (s.restarts < p.restartsBeforeIsolate) {
    const attempt = s.restarts + 1;
    const a = action(
      ctx,
      "restart",
      "HIGH",
      `peer ${ctx.peer} missed ${missed} heartbeats${why} — restart attempt ${attempt} of ${p.restartsBeforeIsolate}`,
      incidentId,
    );
    return {
      state: {
        ...base,
        status: "OFFLINE",
        missed: 0,
        restarts: attempt,
        incidentId,
        lastRestartAt: ctx.now,
      },
      effects: [
        { kind: "emit", action: a },
        { kind: "restart", actionId: a.id, attempt },
      ],
    };
  }

  const iso1 = action(
    ctx,
    "isolate",
    "CRITICAL",
    `peer ${ctx.peer} still down after ${s.restarts} restart${s.restarts === 1 ? "" : "s"}${why} — isolating it`,
    incidentId,
  );
  const arch = action(
    ctx,
    "alert_architect",
    "CRITICAL",
    `peer ${ctx.peer} is ISOLATED after ${s.restarts} failed restart${s.restarts === 1 ? "" : "s"}; ` +
      `investigate, then run "${ctx.releaseCommand ?? `wdmesh release ${ctx.peer}`}"`,
    incidentId,
  );
  return {
    state: { ...base, status: "ISOLATED", missed: 0, incidentId, isolatedAt: ctx.now },
    effects: [
      { kind: "isolate", actionId: iso1.id },
      { kind: "emit", action: iso1 },
      { kind: "emit", action: arch },
    ],
  };
}

function onRelease(s: LadderState, e: { by?: string }, ctx: StepContext): StepOutput {
  const wasIsolated = s.status === "ISOLATED";
  const a = action(
    ctx,
    "release",
    "INFO",
    `peer ${ctx.peer} released by ${e.by ?? "operator"}` +
      (wasIsolated ? "; isolation undone, counters reset" : "; counters reset"),
    s.incidentId,
  );
  const state: LadderState = {
    ...initialState(),
    lastSeenAt: s.lastSeenAt,
    lastRestartAt: s.lastRestartAt,
    silencedUntil: s.silencedUntil,
    lastError: s.lastError,
    responseTimeMs: s.responseTimeMs,
  };
  return {
    state,
    effects: [
      { kind: "release", actionId: a.id, wasIsolated },
      { kind: "emit", action: a },
    ],
  };
}

function onOperatorRestart(s: LadderState, e: { by?: string }, ctx: StepContext): StepOutput {
  if (s.status === "ISOLATED") return { state: s, effects: [] };
  const a = action(
    ctx,
    "restart",
    "INFO",
    `restart of ${ctx.peer} requested by ${e.by ?? "operator"}`,
    s.incidentId,
  );
  return {
    state: { ...s, lastRestartAt: ctx.now },
    effects: [
      { kind: "emit", action: a },
      { kind: "restart", actionId: a.id, attempt: 0 },
    ],
  };
}

/** The reducer. Pure: same inputs, same outputs (ids come from ctx.newId). */
export function step(state: LadderState, event: LadderEvent, policy: Policy, ctx: StepContext): StepOutput {
  const s = expire(state, policy, ctx.now);
  switch (event.type) {
    case "probe-ok":
      return onOk(s, event, policy, ctx);
    case "probe-miss":
      return onMiss(s, event, policy, ctx);
    case "probe-inconclusive":
      // Shown, never counted: no row changes, no incident opens.
      return { state: { ...s, lastError: `inconclusive: ${event.error}` }, effects: [] };
    case "release":
      return onRelease(s, event, ctx);
    case "silence":
      return { state: { ...s, silencedUntil: event.until }, effects: [] };
    case "operator-restart":
      return onOperatorRestart(s, event, ctx);
    case "tick":
      return { state: s, effects: [] };
  }
}
