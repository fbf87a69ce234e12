// Who remediates a target: rendezvous (highest-random-weight) hashing over the nodes
// that observe it. Every node that knows the same candidate set computes the same owner
// with no coordination; removing a node that is not the owner never moves ownership, and
// removing the owner moves it to the candidate with the next highest weight.
import { createHash } from "node:crypto";

/** Most weights remembered; the set of members × peers is small, so this is a bound, not a tuning. */
export const WEIGHT_MEMO_MAX = 4096;
const weights = new Map<string, string>();

/**
 * Weight of `node` for `target`: sha256(`${node}\n${target}`) as a 64-char hex string.
 * Asked for every peer whenever a view is built, so weights are remembered (up to
 * WEIGHT_MEMO_MAX, then forgotten all at once).
 */
export function rendezvousWeight(node: string, target: string): string {
  const key = `${node}\n${target}`;
  let w = weights.get(key);
  if (w === undefined) {
    if (weights.size >= WEIGHT_MEMO_MAX) weights.clear();
    w = createHash("sha256").update(key).digest("hex");
    weights.set(key, w);
  }
  return w;
}

/** How many weights are remembered now (for tests). */
export function rememberedWeights(): number {
  return weights.size;
}

/**
 * The owner of `target` among `candidates`: the candidate with the largest weight
 * (hex strings of equal length compare like the numbers they spell). Duplicates are
 * ignored; undefined when there is no candidate.
 */
export function rendezvousOwner(target: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = "";
  for (const node of candidates) {
    const w = rendezvousWeight(node, target);
    // Equal weights would need a sha256 collision; break the tie by name anyway so the
    // answer never depends on the order of `candidates`.
    if (best === undefined || w > bestWeight || (w === bestWeight && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** Candidates ordered by weight for `target`, owner first (the succession order). */
export function rendezvousOrder(target: string, candidates: Iterable<string>): string[] {
  const uniq = [...new Set(candidates)];
  const w = new Map(uniq.map((n) => [n, rendezvousWeight(n, target)]));
  return uniq.sort((a, b) => {
    const wa = w.get(a) as string;
    const wb = w.get(b) as string;
    return wa === wb ? (a < b ? -1 : 1) : wa > wb ? -1 : 1;
  });
}
