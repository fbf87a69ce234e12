// The resolved config with every secret replaced by "***", for `wdmesh validate`.
// Masked: node.apiToken / readToken, mesh.key / identity, webhook secrets, routing
// keys, every header value, Slack webhook URLs, and any value that came from ${ENV} /
// ${file:} interpolation (wherever it ended up). URLs are shown through redactUrl, the
// same function the API and the logs use, so validate hides exactly what they hide
// (URL passwords, ?token= and other secret-looking query parameters).
import { containsSecret, MASK, redactUrl } from "../core/redact.js";
import type { ResolvedConfig } from "./resolve.js";
import { isObj, type Obj } from "./rules.js";

export { MASK } from "../core/redact.js";

function maskValues(o: unknown): unknown {
  if (!isObj(o)) return o;
  return Object.fromEntries(Object.keys(o).map((k) => [k, MASK]));
}

/** A deep copy of `rc` safe to print: no secret value anywhere in it (and not the secret list itself). */
export function maskedConfig(rc: ResolvedConfig): unknown {
  const { secrets: list, ...rest } = rc;
  const secrets = new Set(list);
  const copy = JSON.parse(JSON.stringify(rest)) as Obj;

  const node = copy.node as Obj;
  for (const k of ["apiToken", "readToken", "identity"]) if (node[k] !== undefined) node[k] = MASK;
  if (isObj(copy.mesh))
    for (const k of ["key", "identity"]) if (copy.mesh[k] !== undefined) copy.mesh[k] = MASK;
  for (const a of copy.alerts as Obj[]) {
    a.headers = maskValues(a.headers);
    if (a.secret !== undefined) a.secret = MASK;
    if (a.routingKey !== undefined) a.routingKey = MASK;
    // A Slack incoming-webhook URL is itself the credential.
    if (a.kind === "slack" || (a.kind === "webhook" && a.format === "slack")) a.url = MASK;
  }
  for (const p of copy.peers as Obj[]) {
    const probe = p.probe as Obj;
    if (isObj(probe.http)) probe.http.headers = maskValues(probe.http.headers);
  }

  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      if (v === MASK) return v;
      if (secrets.has(v) || containsSecret(v, secrets)) return MASK;
      return redactUrl(v);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(copy);
}
