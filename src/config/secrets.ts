// Which config values are secrets, and the registry that lets mask.ts and error
// messages hide them. A value is a secret when it sits in a secret-bearing field
// (tokens, keys, signing secrets, routing keys, header values, Slack webhook URLs)
// or when it came from ${ENV} / ${file:} interpolation.
import type { PathSeg } from "./cross-checks.js";

/** True for the YAML paths (snake_case, as written) whose values are secrets. */
export function isSecretPath(p: readonly PathSeg[]): boolean {
  const [a, , c, d, e, f] = p;
  if (a === "node") return p.length === 2 && (p[1] === "api_token" || p[1] === "read_token");
  if (a === "mesh") return p.length === 2 && p[1] === "key";
  if (a === "alerts") {
    if (p.length === 4 && c === "headers") return true;
    if (p.length === 4 && c === "webhook" && (d === "secret" || d === "routing_key")) return true;
    if (p.length === 4 && c === "pagerduty" && d === "routing_key") return true;
    if (p.length === 4 && c === "slack" && d === "url") return true;
  }
  if (a === "peers")
    return p.length === 6 && c === "probe" && d === "http" && e === "headers" && f !== undefined;
  return false;
}

/** Every string at a secret path of `doc`. */
export function secretValuesIn(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: PathSeg[]): void => {
    if (typeof v === "string") {
      if (isSecretPath(path)) out.push(v);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i]));
    } else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    }
  };
  walk(doc, []);
  return out;
}

/** Shortest value treated as a secret by value (1-2 characters cannot be hidden meaningfully). */
const MIN_SECRET_LENGTH = 3;

/** Replaces every occurrence of every secret in `text` by "***". */
export function redact(text: string, secrets: Iterable<string>): string {
  const list = [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of list) out = out.split(s).join("***");
  return out;
}

/** True when `text` contains any secret. */
export function containsSecret(text: string, secrets: Iterable<string>): boolean {
  for (const s of secrets) if (s.length >= MIN_SECRET_LENGTH && text.includes(s)) return true;
  return false;
}

const registry = new WeakMap<object, ReadonlySet<string>>();

/** Remembers the secret values of a resolved config (for mask.ts). */
export function rememberSecrets(resolved: object, secrets: Iterable<string>): void {
  registry.set(resolved, new Set([...secrets].filter((s) => s.length > 0)));
}

/** The secret values remembered for a resolved config (empty when it was not built by load.ts). */
export function secretsOf(resolved: object): ReadonlySet<string> {
  return registry.get(resolved) ?? new Set();
}
