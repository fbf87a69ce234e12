// "did you mean …?" for unknown keys: edit distance over the keys the schema allows
// at that level.
import type { z } from "zod";
import type { PathSeg } from "./cross-checks.js";

/** Optimal-string-alignment distance (a transposition counts as one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, "");

/** The closest allowed key, when it is close enough to be a likely typo. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const n = norm(key);
  const same = allowed.find((k) => norm(k) === n); // retryInterval, retry-interval, Retry_Interval
  if (same) return same;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of allowed) {
    const dist = editDistance(n, norm(k));
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(n.length / 3)));
  return bestD <= limit ? best : undefined;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  in?: z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Keys of the object schema(s) reached by following `path` from `schema`. */
export function allowedKeysAt(schema: z.ZodType, path: readonly PathSeg[]): string[] {
  let current: z.ZodType[] = [schema];
  const expand = (list: z.ZodType[]): z.ZodType[] => {
    const out: z.ZodType[] = [];
    const visit = (s: z.ZodType): void => {
      const d = defOf(s);
      if ((d.type === "optional" || d.type === "default" || d.type === "nullable") && d.innerType)
        visit(d.innerType);
      else if (d.type === "union" && d.options) d.options.forEach(visit);
      else if (d.type === "pipe" && d.in) visit(d.in);
      else out.push(s);
    };
    list.forEach(visit);
    return out;
  };
  for (const seg of path) {
    const next: z.ZodType[] = [];
    for (const s of expand(current)) {
      const d = defOf(s);
      if (typeof seg === "number" && d.type === "array" && d.element) next.push(d.element);
      else if (typeof seg === "string" && d.type === "object" && d.shape?.[seg]) next.push(d.shape[seg]);
      else if (d.type === "record" && d.valueType) next.push(d.valueType);
    }
    current = next;
  }
  const keys = new Set<string>();
  for (const s of expand(current)) {
    const d = defOf(s);
    if (d.type === "object" && d.shape) Object.keys(d.shape).forEach((k) => keys.add(k));
  }
  return [...keys];
}
