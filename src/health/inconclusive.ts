// When a failed probe says nothing about the peer: the failure was this node's own (a
// syscall or spawn of its own failed: out of file descriptors, sockets, memory), the
// request never left this node's queue, the prober itself failed, or the deadline ran out
// while this node itself was stalled. Such a probe is inconclusive, never a miss: a node
// in trouble does not blame its peers for it.
//
// The rule reads only the result's typed `cause` (set by the prober where the failure
// happened) and, for a timeout, how long this node stalled. It never reads words: a check
// that prints "ENOMEM" and exits 1 is a miss like any other.
import type { ProbeCause, ProbeResult } from "../core/types.js";
import { isTimeoutError } from "../probe/errors.js";

/** A timeout counts as this node's stall when the node stalled for more than this fraction of the deadline. */
export const STALL_FRACTION = 0.25;

/** An inconclusive verdict: its typed cause and the error, explained. */
export interface Inconclusive {
  cause: ProbeCause;
  error: string;
}

function explain(error: string, cause: ProbeCause): string {
  switch (cause.kind) {
    case "local":
      return `${error} (this node's own failure: ${cause.errno})`;
    case "stall":
      return `${error} while this node itself was stalled for ${cause.stalled_ms} ms`;
    case "queued":
    case "prober":
    case "starting":
      return error;
  }
}

/**
 * Why a failed probe is inconclusive (its cause and its error, explained), or null when it
 * is a miss. `stalledMs()` is how long this node itself stalled while the probe ran; it is
 * asked only for a timeout without a cause.
 */
export function inconclusiveWhy(
  result: ProbeResult,
  timeoutMs: number,
  stalledMs: () => number,
): Inconclusive | null {
  const error = result.error ?? "probe failed";
  // A prober that says it could not tell, without saying why, is its own fault.
  const cause: ProbeCause | undefined =
    result.cause ?? (result.inconclusive === true ? { kind: "prober" } : undefined);
  if (cause !== undefined) return { cause, error: explain(error, cause) };
  if (!isTimeoutError(error)) return null;
  const stalled = stalledMs();
  if (stalled > STALL_FRACTION * timeoutMs) {
    const stall: ProbeCause = { kind: "stall", stalled_ms: Math.round(stalled) };
    return { cause: stall, error: explain(error, stall) };
  }
  return null;
}
