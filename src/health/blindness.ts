// node_blind: a node whose checks are mostly inconclusive (out of descriptors, starved,
// its prober failing) can neither see its peers fail nor remediate them, and says
// nothing peer by peer (an inconclusive check is only shown). This counts the node's
// checks over a sliding window and says when it turns blind and when it sees again, so
// the Monitor raises one node_blind (HIGH) per episode and notes the recovery.
// Rule (BLIND_DEFAULTS): blind when more than half of the last 30 s of checks were
// inconclusive, with at least 10 checks in the window; sighted again at 20 % or less.
// Time comes in as `now` (epoch ms of the Monitor's clock); memory is one counter pair
// per second of the window.
import { BLIND_DEFAULTS } from "../core/defaults.js";

export interface BlindReport {
  /** Checks in the window (count). */
  checks: number;
  /** Of which inconclusive (count). */
  inconclusive: number;
  /** The window, ms. */
  window_ms: number;
}

const BUCKET_MS = 1_000;

export class Blindness {
  private readonly buckets = new Map<number, { checks: number; inconclusive: number }>();
  private blindNow = false;

  constructor(private readonly rule: typeof BLIND_DEFAULTS = BLIND_DEFAULTS) {}

  get blind(): boolean {
    return this.blindNow;
  }

  /** Counts one check (conclusive or not) at `now`. */
  record(inconclusive: boolean, now: number): void {
    const key = Math.floor(now / BUCKET_MS);
    let b = this.buckets.get(key);
    if (!b) {
      b = { checks: 0, inconclusive: 0 };
      this.buckets.set(key, b);
    }
    b.checks++;
    if (inconclusive) b.inconclusive++;
  }

  /** The window's counts, and whether the node just turned blind ("entered") or sees again ("left"). */
  evaluate(now: number): { report: BlindReport; changed: "entered" | "left" | null } {
    const oldest = Math.floor((now - this.rule.windowMs) / BUCKET_MS);
    let checks = 0;
    let inconclusive = 0;
    for (const [key, b] of this.buckets) {
      if (key <= oldest) this.buckets.delete(key);
      else {
        checks += b.checks;
        inconclusive += b.inconclusive;
      }
    }
    const report = { checks, inconclusive, window_ms: this.rule.windowMs };
    const share = checks === 0 ? 0 : inconclusive / checks;
    let changed: "entered" | "left" | null = null;
    if (!this.blindNow && checks >= this.rule.minChecks && share > this.rule.fraction) {
      this.blindNow = true;
      changed = "entered";
    } else if (this.blindNow && share <= this.rule.clearFraction) {
      this.blindNow = false;
      changed = "left";
    }
    return { report, changed };
  }
}
