// zod issues → config issues a person can act on: one issue per unknown key (with
// "did you mean"), "is required" for missing keys, "expected a list, got a mapping"
// for wrong types, and the relevant branch of a union instead of "Invalid input".
import type { z } from "zod";
import type { PathSeg, RawIssue } from "./cross-checks.js";
import { allowedKeysAt, closestKey } from "./suggest.js";

type Issue = z.core.$ZodIssue;

const KIND: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  null: "null",
};

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "number") return Number.isInteger(v) ? "a number" : "a fractional number";
  if (typeof v === "boolean") return "a boolean";
  return `a ${typeof v}`;
}

/** Value at `path` of `doc`, and whether its key exists. */
function lookup(doc: unknown, path: readonly PathSeg[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const seg of path) {
    if (typeof cur !== "object" || cur === null || !Object.prototype.hasOwnProperty.call(cur, seg)) {
      return { found: false, value: undefined };
    }
    cur = (cur as Record<PathSeg, unknown>)[seg];
  }
  return { found: true, value: cur };
}

function unknownKeyHint(schema: z.ZodType, parent: PathSeg[], key: string): string {
  if (key === "concurrency" && parent[0] === "peers")
    return "concurrency is node-wide: set it under defaults";
  const allowed = allowedKeysAt(schema, parent);
  const best = closestKey(key, allowed);
  if (best !== undefined) return `did you mean "${best}"?`;
  return allowed.length > 0 ? `allowed here: ${allowed.join(", ")}` : "remove it";
}

/** True when a union branch failed on the value's own type (so it was not the branch meant). */
function branchMismatch(issues: Issue[]): boolean {
  return issues.some((i) => i.path.length === 0 && (i.code === "invalid_type" || i.code === "invalid_value"));
}

/** Converts one zod issue (paths relative to `prefix`) against the validated document `doc`. */
export function convertZodIssue(
  issue: Issue,
  doc: unknown,
  schema: z.ZodType,
  prefix: PathSeg[] = [],
): RawIssue[] {
  const path: PathSeg[] = [...prefix, ...(issue.path as PathSeg[])];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key "${key}"`,
        hint: unknownKeyHint(schema, path, key),
      }));
    case "invalid_union": {
      const candidates = issue.errors.filter((branch) => !branchMismatch(branch));
      if (candidates.length === 0) return [{ path, message: issue.message }];
      const best = candidates.reduce((a, b) => (b.length < a.length ? b : a));
      return best.flatMap((i) => convertZodIssue(i, doc, schema, path));
    }
    case "invalid_type": {
      const at = lookup(doc, path);
      if (!at.found || at.value === undefined) return [{ path, message: "is required" }];
      const want = KIND[issue.expected] ?? issue.expected;
      return [{ path, message: `must be ${want}, not ${kindOf(at.value)}` }];
    }
    case "invalid_key":
      return issue.issues
        .flatMap((i) => convertZodIssue(i, doc, schema, path))
        .map((i) => ({
          ...i,
          message: `key ${i.message}`,
        }));
    case "invalid_element":
      return issue.issues.flatMap((i) => convertZodIssue(i, doc, schema, path));
    default:
      return [{ path, message: issue.message }];
  }
}
