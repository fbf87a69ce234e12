// When a failed probe says nothing about the peer: the failure was this node's own (out
// of file descriptors, sockets, memory), or the deadline ran out while this node itself
// was stalled. Such a probe is inconclusive, never a miss: a node in trouble does not
// blame its peers for it.
import type { ProbeResult } from "../core/types.js";
import { isTimeoutError, localFailureCode } from "../probe/errors.js";

/** A timeout counts as this node's stall when the node stalled for more than this fraction of the deadline. */
export const STALL_FRACTION = 0.25;

/**
 * Why a failed probe is inconclusive (its error, explained), or null when it is a miss.
 * `stalledMs()` is how long this node itself stalled while the probe ran; it is asked
 * only for a timeout.
 */
export function inconclusiveWhy(
  result: ProbeResult,
  timeoutMs: number,
  stalledMs: () => number,
): string | null {
  const error = result.error ?? "probe failed";
  if (result.inconclusive === true) return error;
  const code = localFailureCode(error);
  if (code !== null) return `${error} (this node's own failure: ${code})`;
  if (!isTimeoutError(error)) return null;
  const stalled = stalledMs();
  if (stalled > STALL_FRACTION * timeoutMs) {
    return `${error} while this node itself was stalled for ${Math.round(stalled)} ms`;
  }
  return null;
}
