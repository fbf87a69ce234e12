// Durations: a number is milliseconds; a string is a sequence of <number><unit>
// with units ms, s, m, h, d (e.g. "30s", "1m30s", "500ms", "1.5h").
import { WatchdogError } from "./errors.js";

export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Parses a duration to ms. Throws WDM_INVALID_DURATION naming `field`. */
export function parseDuration(value: Duration, field = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new WatchdogError(
        "WDM_INVALID_DURATION",
        `${field}: ${String(value)} is not a valid duration; use a non-negative number of ms or a string like "30s"`,
        field,
      );
    }
    return value;
  }
  const s = value.trim();
  if (s === "0") return 0;
  let total = 0;
  let pos = 0;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  if (s.length === 0 || pos !== s.length) {
    throw new WatchdogError(
      "WDM_INVALID_DURATION",
      `${field}: ${JSON.stringify(value)} is not a valid duration; use e.g. "500ms", "30s", "5m", "1h" or "1m30s"`,
      field,
    );
  }
  return Math.round(total);
}

/** Formats ms as a short human duration ("1m30s", "500ms"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join("");
}

/** RFC 3339 from epoch ms, or null. */
export function iso(ms: number): string;
export function iso(ms: number | null | undefined): string | null;
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
