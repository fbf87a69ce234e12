// A scripted Prober (the library's `prober` option) for unit tests: each target answers
// what the test says (up, down, hang until the deadline, or the prober itself failing),
// and every probe is counted. A target is the probe's URL (http and heartbeat probes),
// "host:port" (tcp) or the argv joined by spaces (exec): probeKey() below.
import type { ProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import type { Clock } from "../core/clock.js";
import type { Prober } from "../probe/prober.js";

/** Answers a probe of `target` (see probeKey) with `spec` as the Monitor gave it. */
export type Script = (target: string, spec: ProbeSpec) => ProbeResult | Promise<ProbeResult>;

/**
 * What a scripted target does on each probe:
 * - `"up"`: ok;
 * - `"down"`: a miss, "connection refused";
 * - `"hang"`: no answer until the probe's deadline on the prober's clock, then a miss
 *   "timeout after N ms" (a probe cut short by stop() ends at once);
 * - `"error"`: the prober itself throws (the Monitor reads it as inconclusive, not a miss);
 * - a ProbeResult, answered as it is; or a Script.
 * An array is played in order, one entry per probe; its last entry then stays.
 */
export type Behaviour = "up" | "down" | "hang" | "error" | ProbeResult | Script;

export const OK: ProbeResult = { ok: true, duration_ms: 3 };
export const MISS: ProbeResult = { ok: false, duration_ms: 1, error: "connection refused" };

/** The target a probe is scripted and counted by: its URL, "host:port", or its argv. */
export function probeKey(spec: ProbeSpec): string {
  if ("http" in spec) return spec.http.url;
  if ("heartbeat" in spec) return spec.heartbeat.url;
  if ("tcp" in spec) return `${spec.tcp.host}:${spec.tcp.port}`;
  if ("exec" in spec) return spec.exec.argv.join(" ");
  return JSON.stringify(spec);
}

export interface FakeProberOptions {
  /** Answers targets that have no behaviour set; default: every target is up. */
  script?: Script;
  /** The clock `"hang"` waits on (pass the Monitor's fake clock). Default: real time. */
  clock?: Clock;
}

export class FakeProber implements Prober {
  /** Every probe's target, in order. */
  readonly calls: string[] = [];
  /** The deadline each probe was given, ms, in order. */
  readonly timeouts: number[] = [];
  /** The most probes of one target in flight at once (the Monitor never probes a peer twice at once). */
  maxConcurrentPerUrl = 0;
  /** How many times close() was called. */
  closed = 0;
  private script: Script;
  private readonly clock: Clock | undefined;
  private readonly behaviours = new Map<string, Behaviour[]>();
  private readonly inFlight = new Map<string, number>();

  /** `script` (or `{ script, clock }`) answers targets without a behaviour of their own. */
  constructor(opts: Script | FakeProberOptions = {}) {
    const o = typeof opts === "function" ? { script: opts } : opts;
    this.script = o.script ?? (() => OK);
    this.clock = o.clock;
  }

  /** Replaces the script of targets without a behaviour of their own. */
  setScript(s: Script): void {
    this.script = s;
  }

  /** From the next probe on, `target` (see probeKey) does `behaviour` (an array: one entry per probe). */
  set(target: string, behaviour: Behaviour | readonly Behaviour[]): this {
    const list = Array.isArray(behaviour) ? [...(behaviour as Behaviour[])] : [behaviour as Behaviour];
    if (list.length === 0) throw new Error(`FakeProber.set(${JSON.stringify(target)}): no behaviour given`);
    this.behaviours.set(target, list);
    return this;
  }

  /** How many probes of `target` started (all targets without one). */
  count(target?: string): number {
    return target === undefined ? this.calls.length : this.calls.filter((c) => c === target).length;
  }

  async probe(spec: ProbeSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    const target = probeKey(spec);
    this.calls.push(target);
    this.timeouts.push(timeoutMs);
    const n = (this.inFlight.get(target) ?? 0) + 1;
    this.inFlight.set(target, n);
    this.maxConcurrentPerUrl = Math.max(this.maxConcurrentPerUrl, n);
    try {
      return await this.answer(this.next(target), target, spec, timeoutMs, signal);
    } finally {
      this.inFlight.set(target, (this.inFlight.get(target) ?? 1) - 1);
    }
  }

  async close(): Promise<void> {
    this.closed++;
  }

  private next(target: string): Behaviour {
    const list = this.behaviours.get(target);
    if (!list) return this.script;
    return list.length > 1 ? (list.shift() as Behaviour) : (list[0] as Behaviour);
  }

  private async answer(
    b: Behaviour,
    target: string,
    spec: ProbeSpec,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ProbeResult> {
    if (typeof b === "function") return b(target, spec);
    if (typeof b === "object") return b;
    switch (b) {
      case "up":
        return OK;
      case "down":
        return MISS;
      case "error":
        throw new Error(`FakeProber: scripted prober failure for ${target}`);
      case "hang":
        await this.sleep(timeoutMs, signal);
        return { ok: false, duration_ms: timeoutMs, error: `timeout after ${timeoutMs} ms` };
    }
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.clock) return this.clock.sleep(ms, signal);
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
