// Whether the observers of a target confirm its failure (mesh.confirm):
//   any      — at least one observer sees it failing
//   majority — more than half of the observers (2 of 3, 2 of 2, 3 of 4)
//   all      — every observer
// `observers` counts the nodes that watch the target and are alive, this node included.
import { InvalidOptionError } from "../core/errors.js";

export type ConfirmMode = "any" | "majority" | "all";

export const CONFIRM_MODES: readonly ConfirmMode[] = ["any", "majority", "all"];

/** Observers that must see the failure under `mode` when there are `observers` of them. */
export function requiredConfirmations(mode: ConfirmMode, observers: number): number {
  if (!Number.isInteger(observers) || observers < 0) {
    throw new InvalidOptionError("observers", `must be a non-negative integer (got ${String(observers)})`);
  }
  switch (mode) {
    case "any":
      return 1;
    case "majority":
      return Math.floor(observers / 2) + 1;
    case "all":
      return Math.max(1, observers);
    default:
      throw new InvalidOptionError(
        "mesh.confirm",
        `must be one of ${CONFIRM_MODES.join(", ")} (got ${JSON.stringify(mode)})`,
      );
  }
}

/**
 * True when `failing` of `observers` observers confirm the failure under `mode`.
 * No observers confirm nothing; `failing` above `observers` is a caller bug and throws.
 */
export function isConfirmed(mode: ConfirmMode, observers: number, failing: number): boolean {
  const need = requiredConfirmations(mode, observers);
  if (!Number.isInteger(failing) || failing < 0 || failing > observers) {
    throw new InvalidOptionError(
      "failing",
      `must be an integer from 0 to ${observers} (got ${String(failing)})`,
    );
  }
  return observers > 0 && failing >= need;
}
