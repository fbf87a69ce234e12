// Local health awareness (after Lifeguard, memberlist's awareness.go): the node measures
// its own event-loop delay and how late its scheduler starts probes. While either p99
// over the sliding window is above its threshold the node is `degraded`: it cannot trust
// its own deadlines, so the Monitor stretches them and holds remediation until the node
// is well again. Pure bookkeeping over samples; time comes from the Clock.
import { SELF_HEALTH_DEFAULTS } from "../core/defaults.js";
import { InvalidOptionError } from "../core/errors.js";
import type { SelfHealthReport } from "../core/types.js";
import type { LoopDelaySource } from "./loop-delay.js";

export interface SelfHealthOptions {
  /** Event-loop delay p99 above which this node is degraded, ms. Default 200. */
  loopDelayP99Ms?: number;
  /** Probe start lateness p99 above which this node is degraded, ms. Default 250 (a quarter of a 1 s interval). */
  latenessP99Ms?: number;
  /** Sliding window both p99s are computed over, ms. Default 10 000. */
  windowMs?: number;
  /** While degraded, probe deadlines are multiplied by this (>= 1). Default 2. */
  deadlineFactor?: number;
}

export type { SelfHealthReport } from "../core/types.js";

/** Re-evaluates at most this often, ms (percentiles sort the window). */
const EVALUATE_EVERY_MS = 200;

function check(name: keyof SelfHealthOptions, v: number | undefined, min: number): number {
  const value = v ?? SELF_HEALTH_DEFAULTS[name];
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionError(`selfHealth.${name}`, `must be a number >= ${min} (got ${String(value)})`);
  }
  return value;
}

/** p99 of weighted samples: the value at or below which 99 % of the total weight lies. */
export function weightedP99(samples: ReadonlyArray<{ value: number; weight: number }>): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((n, s) => n + s.weight, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.weight;
    if (acc >= 0.99 * total) return s.value;
  }
  return (sorted[sorted.length - 1] as { value: number }).value;
}

export class SelfHealth {
  readonly loopDelayP99Ms: number;
  readonly latenessP99Ms: number;
  readonly windowMs: number;
  readonly deadlineFactor: number;
  private readonly lateAt: number[] = [];
  private readonly late: number[] = [];
  private head = 0;
  private report: SelfHealthReport = { status: "ok", loop_delay_p99_ms: 0, lateness_p99_ms: 0 };
  private evaluatedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: LoopDelaySource,
    opts: SelfHealthOptions = {},
  ) {
    this.loopDelayP99Ms = check("loopDelayP99Ms", opts.loopDelayP99Ms, 1);
    this.latenessP99Ms = check("latenessP99Ms", opts.latenessP99Ms, 1);
    this.windowMs = check("windowMs", opts.windowMs, 1000);
    this.deadlineFactor = check("deadlineFactor", opts.deadlineFactor, 1);
  }

  /** One probe's start lateness (ms) at `at` (epoch ms). */
  recordLateness(ms: number, at: number): void {
    this.lateAt.push(at);
    this.late.push(Math.max(0, ms));
    this.prune(at);
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.lateAt.length && (this.lateAt[this.head] as number) < from) this.head++;
    if (this.head > 4096 && this.head * 2 > this.lateAt.length) {
      this.lateAt.splice(0, this.head);
      this.late.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * The current report; re-evaluated when older than 200 ms. `changed` says whether this
   * evaluation entered or left the degraded state (for one journal entry each).
   */
  evaluate(now: number): { report: SelfHealthReport; changed: "entered" | "left" | null } {
    if (now - this.evaluatedAt < EVALUATE_EVERY_MS && now >= this.evaluatedAt) {
      return { report: this.report, changed: null };
    }
    this.evaluatedAt = now;
    this.prune(now);
    const since = now - this.windowMs;
    const loop = weightedP99(
      this.source.samplesSince(since).map((s) => ({ value: s.delayMs, weight: s.spanMs })),
    );
    const lateSamples: Array<{ value: number; weight: number }> = [];
    for (let i = this.head; i < this.late.length; i++)
      lateSamples.push({ value: this.late[i] as number, weight: 1 });
    const lateness = weightedP99(lateSamples);
    const degraded = loop > this.loopDelayP99Ms || lateness > this.latenessP99Ms;
    const was = this.report.status;
    this.report = {
      status: degraded ? "degraded" : "ok",
      loop_delay_p99_ms: Math.round(loop),
      lateness_p99_ms: Math.round(lateness),
    };
    const changed = was === this.report.status ? null : degraded ? "entered" : "left";
    return { report: this.report, changed };
  }

  get degraded(): boolean {
    return this.report.status === "degraded";
  }

  /** The hold reason while degraded. */
  holdReason(): string {
    const r = this.report;
    return `this node is overloaded: loop delay p99 ${r.loop_delay_p99_ms} ms, lateness p99 ${r.lateness_p99_ms} ms`;
  }
}
