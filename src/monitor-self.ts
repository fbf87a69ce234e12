// This node's own health as the Monitor's probe loop uses it (health/self-health.ts): its
// event-loop delay and probe lateness, the deadline stretched and remediation held while it
// is degraded, the self_degraded / self_recovered journal entries, and a failed probe read
// as this node's own trouble (inconclusive) rather than a peer's miss.
import type { Logger } from "./core/logger.js";
import type { ProbeResult } from "./core/types.js";
import type { Clock } from "./schedule/clock.js";
import type { NodeEntry } from "./health/correlation.js";
import { inconclusiveWhy, type Inconclusive } from "./health/inconclusive.js";
import { defaultLoopDelay, type LoopDelaySource } from "./health/loop-delay.js";
import { SelfHealth, type SelfHealthOptions, type SelfHealthReport } from "./health/self-health.js";
import { SelfJournal } from "./health/self-journal.js";
import type { Peer } from "./monitor-peer.js";

export interface NodeSelfOptions {
  selfName: string;
  clock: Clock;
  logger: Logger;
  /** Where the event-loop delay is read (default: timers on this process's loop). */
  loopDelay: LoopDelaySource | undefined;
  /** Thresholds; false turns self-health off (always ok, nothing held or stretched). */
  selfHealth: SelfHealthOptions | false | undefined;
  /** Commits and notifies a self_degraded / self_recovered entry. */
  journal: (e: NodeEntry) => void;
}

export class NodeSelf {
  private readonly loopDelay: LoopDelaySource;
  private readonly selfHealth: SelfHealth | null;
  /** Journal entries for entering and leaving the degraded state (null without self-health). */
  private readonly selfJournal: SelfJournal | null;

  constructor(private readonly o: NodeSelfOptions) {
    this.loopDelay = o.loopDelay ?? defaultLoopDelay(o.clock);
    this.selfHealth = o.selfHealth === false ? null : new SelfHealth(this.loopDelay, o.selfHealth);
    this.selfJournal = this.selfHealth ? new SelfJournal(o.selfName, this.selfHealth) : null;
  }

  /** `degraded` while loop delay p99 or probe lateness p99 is above its threshold. */
  report(): SelfHealthReport {
    if (!this.selfHealth) return { status: "ok", loop_delay_p99_ms: 0, lateness_p99_ms: 0 };
    return this.evaluate();
  }

  start(): void {
    if (this.selfHealth) this.loopDelay.start();
  }

  stop(): void {
    this.loopDelay.stop();
  }

  /** A peer's deadline: while this node is overloaded its own slowness must not run it out. */
  timeoutMs(base: number): number {
    return this.selfHealth?.degraded ? Math.round(base * this.selfHealth.deadlineFactor) : base;
  }

  /** Why remediation is held while this node is overloaded, or undefined. */
  overloadHold(): string | undefined {
    return this.selfHealth?.degraded === true ? this.selfHealth.holdReason() : undefined;
  }

  /** After a probe that was called `lateMs` late (at monotonic `calledMono`): re-evaluates. */
  probed(lateMs: number, calledMono: number): void {
    this.selfHealth?.recordLateness(lateMs, calledMono);
    if (this.selfHealth) this.evaluate();
  }

  /**
   * Why a failed probe of `name` (started at monotonic `startedMono`) is this node's own
   * trouble, or null (an ok result, or a miss). Said once per run of inconclusive results.
   */
  inconclusive(
    name: string,
    p: Peer,
    result: ProbeResult,
    timeoutMs: number,
    startedMono: number,
  ): Inconclusive | null {
    const inconclusive = result.ok
      ? null
      : inconclusiveWhy(result, timeoutMs, () =>
          this.loopDelay.stalledMs(startedMono, this.o.clock.monotonic()),
        );
    if (inconclusive !== null && p.state.lastError?.startsWith("inconclusive: ") !== true) {
      const fields = { peer: name, error: inconclusive.error, cause: inconclusive.cause.kind };
      // A peer still starting is its own state, not this node's trouble.
      if (inconclusive.cause.kind === "starting") this.o.logger.info(fields, "peer starting; not a miss yet");
      else this.o.logger.warn(fields, "probe inconclusive (this node's own trouble); not a miss");
    }
    return inconclusive;
  }

  /** Re-evaluates this node's health; journals entering and leaving the degraded state. */
  private evaluate(): SelfHealthReport {
    const now = this.o.clock.now();
    const { report, changed } = (this.selfHealth as SelfHealth).evaluate(this.o.clock.monotonic());
    const entry = this.selfJournal?.entryFor(changed, report, now);
    // Not journaled, so not announced either: the store failure is (see monitor-journal.ts).
    if (entry) this.o.journal(entry);
    return report;
  }
}
