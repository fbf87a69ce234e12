// Lateness of probes (actual start − due time, ms), kept in a fixed ring so memory
// stays flat; percentiles are computed on demand.
import { SCHEDULE_DEFAULTS } from "../core/defaults.js";

export interface LatenessSummary {
  samples: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export class LatenessRecorder {
  private readonly ring: Float64Array;
  private n = 0;
  private total = 0;

  constructor(capacity: number = SCHEDULE_DEFAULTS.latenessSamples) {
    this.ring = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.ring[this.n % this.ring.length] = ms < 0 ? 0 : ms;
    this.n++;
    this.total++;
  }

  summary(): LatenessSummary {
    const count = Math.min(this.n, this.ring.length);
    if (count === 0) return { samples: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 };
    const sorted = Array.from(this.ring.subarray(0, count)).sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(count - 1, Math.floor(q * count))] as number;
    return { samples: this.total, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted[count - 1] as number };
  }

  reset(): void {
    this.n = 0;
    this.total = 0;
  }
}
