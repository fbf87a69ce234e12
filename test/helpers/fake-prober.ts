// A scripted Prober: each peer's next results come from a function; it records the
// URLs it probed and the deadline of each probe.
import type { ProbeSpec } from "../../src/core/options.js";
import type { ProbeResult } from "../../src/core/types.js";
import type { Prober } from "../../src/probe/prober.js";

export type Script = (url: string) => ProbeResult | Promise<ProbeResult>;

export const OK: ProbeResult = { ok: true, duration_ms: 3 };
export const MISS: ProbeResult = { ok: false, duration_ms: 1, error: "connection refused" };

export class FakeProber implements Prober {
  readonly calls: string[] = [];
  /** The deadline each probe was given, ms, in order. */
  readonly timeouts: number[] = [];
  private inFlight = new Map<string, number>();
  maxConcurrentPerUrl = 0;
  closed = 0;

  constructor(private script: Script) {}

  setScript(s: Script): void {
    this.script = s;
  }

  async probe(spec: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
    const url = "http" in spec ? spec.http.url : JSON.stringify(spec);
    this.calls.push(url);
    this.timeouts.push(timeoutMs);
    const n = (this.inFlight.get(url) ?? 0) + 1;
    this.inFlight.set(url, n);
    this.maxConcurrentPerUrl = Math.max(this.maxConcurrentPerUrl, n);
    try {
      return await this.script(url);
    } finally {
      this.inFlight.set(url, (this.inFlight.get(url) ?? 1) - 1);
    }
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
