// The resolved config with every secret replaced by "***", for `wdmesh validate`.
// Masked: node.apiToken / readToken, mesh.key, webhook secrets, routing keys, every
// header value, Slack webhook URLs, URL passwords, and any value that came from
// ${ENV} / ${file:} interpolation (wherever it ended up).
import type { ResolvedConfig } from "./resolve.js";
import { containsSecret, secretsOf } from "./secrets.js";

export const MASK = "***";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function maskValues(o: unknown): unknown {
  if (!isObj(o)) return o;
  return Object.fromEntries(Object.keys(o).map((k) => [k, MASK]));
}

function maskUserinfo(s: string): string {
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#:@]*):[^/?#@]*@/i, `$1:${MASK}@`);
}

/** A deep copy of `rc` safe to print: no secret value anywhere in it. */
export function maskedConfig(rc: ResolvedConfig): unknown {
  const secrets = secretsOf(rc);
  const copy = JSON.parse(JSON.stringify(rc)) as Obj;

  const node = copy.node as Obj;
  for (const k of ["apiToken", "readToken"]) if (node[k] !== undefined) node[k] = MASK;
  if (isObj(copy.mesh) && copy.mesh.key !== undefined) copy.mesh.key = MASK;
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
      return maskUserinfo(v);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(copy);
}
