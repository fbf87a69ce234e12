// Retry delays for alert delivery: exponential with jitter, pure (randomness comes in).
//
//   full:          delay = random × min(maxMs, initialMs × 2^(attempt−1)), at least minMs
//   decorrelated:  delay = min(maxMs, random between initialMs and 3 × previous delay)
//   none:          delay = min(maxMs, initialMs × 2^(attempt−1))   (tests, benchmarks)
//
// Defaults: 1 s initial, 5 min cap — a receiver that is down for hours is retried about
// every 2.5 min on average, for as long as max_age allows.
import { InvalidOptionError } from "../core/errors.js";
import { SINK_DEFAULTS } from "../core/defaults.js";

export type Jitter = "full" | "decorrelated" | "none";

export interface BackoffPolicy {
  /** Base delay of the first retry, ms. Default 1 000. */
  initialMs: number;
  /** Upper bound of any delay, ms. Default 300 000 (5 min). */
  maxMs: number;
  /** Lower bound of a full-jitter delay, ms, so a fast-failing receiver is not hammered. Default 100. */
  minMs: number;
  jitter: Jitter;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = {
  initialMs: SINK_DEFAULTS.retryInitialMs,
  maxMs: SINK_DEFAULTS.retryMaxMs,
  minMs: SINK_DEFAULTS.retryMinMs,
  jitter: "full",
};

export function resolveBackoff(p: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const out = { ...DEFAULT_BACKOFF, ...p };
  for (const key of ["initialMs", "maxMs", "minMs"] as const) {
    const v = out[key];
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidOptionError(`backoff.${key}`, `must be a number of ms >= 0, got ${String(v)}`);
  }
  if (out.maxMs < out.initialMs) {
    throw new InvalidOptionError(
      "backoff.maxMs",
      `must be >= backoff.initialMs (${out.initialMs} ms), got ${out.maxMs}`,
    );
  }
  if (!["full", "decorrelated", "none"].includes(out.jitter)) {
    throw new InvalidOptionError(
      "backoff.jitter",
      `must be "full", "decorrelated" or "none", got ${String(out.jitter)}`,
    );
  }
  return out;
}

/** The exponential ceiling for retry number `attempt` (1-based), ms. */
export function backoffCeiling(attempt: number, p: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^(n-1) overflows to Infinity for huge n; min() keeps it at the cap.
  return Math.min(p.maxMs, p.initialMs * 2 ** Math.min(n - 1, 1024));
}

/**
 * Delay before retry number `attempt` (1 = first retry after the first failure), ms.
 * `random` returns [0, 1); `previousMs` is the previous delay (decorrelated jitter only).
 */
export function backoffDelay(
  attempt: number,
  p: BackoffPolicy,
  random: () => number = Math.random,
  previousMs?: number,
): number {
  const ceiling = backoffCeiling(attempt, p);
  switch (p.jitter) {
    case "none":
      return ceiling;
    case "full":
      return Math.round(Math.min(ceiling, Math.max(p.minMs, random() * ceiling)));
    case "decorrelated": {
      const prev = previousMs ?? p.initialMs;
      const hi = Math.max(p.initialMs, prev * 3);
      return Math.round(Math.min(p.maxMs, p.initialMs + random() * (hi - p.initialMs)));
    }
  }
}
