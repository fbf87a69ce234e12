// The rules of the step ledger, as one pure function: given what the ledger holds about a
// peer and a request to take a step, grant it (with the peer's next token) or refuse it
// (saying who took what). No I/O and no clock: the caller reads the rows under the lock
// and passes the time (LedgerTime), so every rule is a table test.
//
// Whether a step still runs is judged on the host's monotonic clock, never on the wall
// clock: every process of the host reads the same monotonic clock on one boot, and a
// wall-clock step (NTP, date -s) must not make a step in flight look over, or a node
// whose wall clock differs act beside it.

/** What the ledger holds about one peer. */
export interface PeerRow {
  /** The latest token given for this peer: grows by one on every step taken and every incident ended. */
  token: number;
  /** The latest external fencing token accepted for this peer (e.g. an etcd revision); null when none. */
  external: number | null;
  /** Who moved `token` last, and what for (shown in a refusal). */
  lastBy: string;
  lastWhat: string;
}

/** One step taken. */
export interface StepRow {
  incident: string;
  step: string;
  effectId: string;
  token: number;
  holder: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms after which a step that never finished no longer blocks the peer (shown; judged on deadlineMono when set). */
  deadline: number;
  /** The boot the step was taken on (its monotonic deadline means nothing on another); null in older rows. */
  boot: string | null;
  /** The host's monotonic ms (on `boot`) after which a step that never finished no longer blocks the peer; null in older rows. */
  deadlineMono: number | null;
  /** Epoch ms; null while it runs (or when its holder died before it could say). */
  finishedAt: number | null;
  outcome: string | null;
}

/** An incident of a peer that ended (recovered, released): no step of it runs again. */
export interface EndedRow {
  endedAt: number;
  by: string;
  why: string;
}

/** A request to take one step. */
export interface StepClaim {
  peer: string;
  /** The incident the step belongs to ("-" for a step outside any incident). */
  incident: string;
  /** The step within the incident: "restart#2", "isolate", "release@<effect id>"... */
  step: string;
  /** The effect this step carries out (a crash resume of the same effect may take it again). */
  effectId: string;
  /** Who takes it: node name, pid, boot. */
  holder: string;
  /** The step's own deadline, ms: it blocks the peer at most this long if it never finishes. */
  timeoutMs: number;
  /**
   * The peer's token this node read before gathering the evidence for this step (before
   * its probe): any step taken or incident ended since makes the evidence stale.
   * Undefined: not checked (the caller could not read it).
   */
  seen?: number | undefined;
  /** An external fencing token (e.g. an etcd key revision): refused when older than the latest accepted. */
  external?: number | undefined;
  /** A crash resume re-running its own effect whose outcome its store never recorded. */
  resume?: boolean | undefined;
  /**
   * An operator's release: recorded (it moves the token, so no verdict older than it runs)
   * but refused only when the same step was already taken or its external token is older.
   * A release left undone would leave a peer cut off while its status says released.
   */
  force?: boolean | undefined;
}

/** What the ledger holds that bears on a claim (read under the lock). */
export interface ClaimContext {
  peer: PeerRow | undefined;
  /** The row of the same (peer, incident, step), if taken. */
  existing: StepRow | undefined;
  /** The peer's steps that never finished, newest first. */
  unfinished: StepRow[];
  /** The claim's incident, if it ended. */
  ended: EndedRow | undefined;
}

export type ClaimDecision =
  | { granted: true; token: number }
  | {
      granted: false;
      /** Why, naming who took what, in words an operator can act on. */
      reason: string;
      /** The holder that took the step or moved the token. */
      by: string;
      rule: "taken" | "in-flight" | "incident-ended" | "stale-token" | "stale-external";
    };

const iso = (ms: number): string => new Date(ms).toISOString();

/** When a claim is decided. */
export interface LedgerTime {
  /** Epoch ms: what the records and words say. */
  wall: number;
  /** The host's monotonic ms: the same reading in every process of the host on one boot. */
  mono: number;
  /** This boot (/proc/sys/kernel/random/boot_id). */
  boot: string;
}

/** Whether step `s`, started and never said finished, still blocks its peer at `t`. */
export function stillRunning(s: StepRow, t: LedgerTime): boolean {
  if (s.finishedAt !== null) return false;
  // No step of an earlier boot runs: the machine restarted since.
  if (s.boot !== null && s.deadlineMono !== null) return s.boot === t.boot && s.deadlineMono > t.mono;
  return s.deadline > t.wall; // a row of a ledger file written before steps kept their boot
}

/** Grants or refuses `c`, at `t`. */
export function decideClaim(ctx: ClaimContext, c: StepClaim, t: LedgerTime): ClaimDecision {
  const p = ctx.peer;
  if (c.external !== undefined && p?.external != null && c.external < p.external) {
    return {
      granted: false,
      rule: "stale-external",
      by: p.lastBy,
      reason: `fencing token ${c.external} is older than ${p.external}, the latest accepted for ${c.peer}`,
    };
  }
  if (ctx.ended && c.force !== true) {
    return {
      granted: false,
      rule: "incident-ended",
      by: ctx.ended.by,
      reason: `incident ${c.incident} of ${c.peer} ended at ${iso(ctx.ended.endedAt)} (${ctx.ended.why}, by ${ctx.ended.by})`,
    };
  }
  const ex = ctx.existing;
  // A crash resume re-runs its own effect (isolate and release are idempotent), also when
  // the ledger says it finished: the process that ran it may have died before its store
  // recorded the outcome (and the isolation record a later release undoes).
  const resuming = (s: StepRow): boolean => c.resume === true && s.effectId === c.effectId;
  if (ex && !resuming(ex)) {
    return {
      granted: false,
      rule: "taken",
      by: ex.holder,
      reason:
        `${c.step} of incident ${c.incident} was already taken by ${ex.holder} at ${iso(ex.startedAt)}` +
        (ex.finishedAt === null ? " (it never said it finished)" : ` (${ex.outcome ?? "finished"})`),
    };
  }
  if (c.force === true) return { granted: true, token: (p?.token ?? 0) + 1 };
  const running = ctx.unfinished.find((s) => stillRunning(s, t) && !resuming(s));
  if (running) {
    return {
      granted: false,
      rule: "in-flight",
      by: running.holder,
      reason:
        `${running.step} of ${c.peer} (incident ${running.incident}) taken by ${running.holder} at ` +
        `${iso(running.startedAt)} is still in flight (until ${iso(running.deadline)} at the latest)`,
    };
  }
  const latest = p?.token ?? 0;
  if (c.seen !== undefined && c.seen < latest && p) {
    return {
      granted: false,
      rule: "stale-token",
      by: p.lastBy,
      reason:
        `this node's evidence predates the latest step of ${c.peer} (token ${c.seen} < ${latest}: ` +
        `${p.lastWhat} by ${p.lastBy})`,
    };
  }
  return { granted: true, token: latest + 1 };
}
