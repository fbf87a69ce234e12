// Which config values are secrets. A value is a secret when it sits in a
// secret-bearing field (tokens, keys, signing secrets, routing keys, header values,
// Slack webhook URLs) or when it came from ${ENV} / ${file:} interpolation. load.ts
// collects them into ResolvedConfig.secrets, an explicit value every consumer
// (validate's masking, the daemon's redaction of logs, store and API) receives.
import type { PathSeg } from "./cross-checks.js";

/** True for the YAML paths (snake_case, as written) whose values are secrets. */
export function isSecretPath(p: readonly PathSeg[]): boolean {
  const [a, , c, d, e, f] = p;
  if (a === "node")
    return p.length === 2 && (p[1] === "api_token" || p[1] === "read_token" || p[1] === "identity");
  if (a === "mesh") return p.length === 2 && p[1] === "key";
  if (a === "coordination") return p.length === 4 && p[2] === "tls" && p[3] === "key";
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

export { containsSecret, redact } from "../core/redact.js";
