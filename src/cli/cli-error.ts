// Errors a command reports to the user: a message, an optional hint, and its exit code.
import { editDistance } from "../core/edit-distance.js";

/** Exit codes of `wdmesh`: 0 ok, 1 failure, 2 usage or config error, 3 a peer is unhealthy (status). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, UNHEALTHY: 3 } as const;

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Wrong command line: exit 2. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(EXIT.USAGE, message, hint);
    this.name = "UsageError";
  }
}

/** The closest of `candidates` to `word` (edit distance ≤ 2), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}
