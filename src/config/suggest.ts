// "did you mean …?" for unknown keys: edit distance over the keys the schema allows
// at that level.
import type { z } from "zod";
import { editDistance } from "../core/edit-distance.js";
import type { PathSeg } from "./cross-checks.js";

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
