// Rules of the config file that span several fields. They run on the interpolated
// raw document, defensively: a section whose own fields are malformed is skipped
// here (the schema reports it), so a file with many problems gets them all at once.
import { memberUrlProblem } from "../mesh/member-url.js";
import { SINK_DEFAULTS } from "../core/defaults.js";
import { parseDuration, type Duration } from "../core/duration.js";
import { InvalidOptionError } from "../core/errors.js";
import { compilePolicy, type Policy, type TimingOptions } from "../core/options.js";
import { standardKey } from "../alert/signature.js";
import { duplicateKeys, identityProblem, ownPublicKey, publicKeyProblem } from "../core/identity.js";
import { isLoopbackHost, isObj, parseListen, type Obj } from "./rules.js";
import { fleetIssues } from "./fleet-checks.js";
import { checkDependencies } from "./dependency-checks.js";

export type PathSeg = string | number;
export interface RawIssue {
  path: PathSeg[];
  message: string;
  hint?: string;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const PROBE_KINDS = ["http", "tcp", "exec", "container"];
const ACTION_KINDS = ["systemd", "command", "container"];
const SINK_KINDS = ["webhook", "alertmanager", "slack", "pagerduty"];

function exactlyOne(obj: Obj, kinds: string[], path: PathSeg[], what: string, out: RawIssue[]): void {
  const present = kinds.filter((k) => obj[k] !== undefined);
  const allowed = kinds.join(", ");
  if (present.length === 0) {
    out.push({ path, message: `${what} needs exactly one of ${allowed}` });
  } else if (present.length > 1) {
    out.push({
      path,
      message: `${what} has ${present.join(" and ")}; keep exactly one of ${allowed}`,
    });
  }
}

function duplicates(items: unknown[], base: PathSeg[], what: string, out: RawIssue[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isObj(item) || typeof item.name !== "string") return;
    const first = seen.get(item.name);
    if (first === undefined) {
      seen.set(item.name, i);
    } else {
      out.push({
        path: [...base, i, "name"],
        message: `duplicate ${what} name "${item.name}" (first used at ${formatSegs([...base, first, "name"])}); names must be unique`,
      });
    }
  });
}

export function formatSegs(segs: readonly PathSeg[]): string {
  let s = "";
  for (const seg of segs) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) s += s === "" ? seg : `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

// ---------------------------------------------------------------- timing policy

const TIMING_DURATIONS: Array<[snake: string, camel: keyof TimingOptions]> = [
  ["interval", "interval"],
  ["timeout", "timeout"],
  ["retry_interval", "retryInterval"],
  ["startup_grace", "startupGrace"],
  ["stable_after", "stableAfter"],
];
const TIMING_COUNTS: Array<[snake: string, camel: keyof TimingOptions]> = [
  ["missed_before_restart", "missedBeforeRestart"],
  ["restarts_before_isolate", "restartsBeforeIsolate"],
  ["success_threshold", "successThreshold"],
];

function durationOk(v: unknown): v is Duration {
  if (typeof v !== "number" && typeof v !== "string") return false;
  try {
    parseDuration(v);
    return typeof v === "string" || Number.isInteger(v);
  } catch {
    return false;
  }
}

/**
 * camelCase TimingOptions (ms numbers) of a defaults/peer mapping; undefined when any
 * timing field is malformed, unless `lenient`, which skips the malformed fields.
 */
export function timingOf(o: Obj, lenient = false): TimingOptions | undefined {
  const t: TimingOptions = {};
  for (const [snake, camel] of TIMING_DURATIONS) {
    const v = o[snake];
    if (v === undefined) continue;
    if (!durationOk(v)) {
      if (lenient) continue;
      return undefined;
    }
    (t as Record<string, unknown>)[camel] = parseDuration(v);
  }
  for (const [snake, camel] of TIMING_COUNTS) {
    const v = o[snake];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      if (lenient) continue;
      return undefined;
    }
    (t as Record<string, unknown>)[camel] = v;
  }
  const rb = o.restart_backoff;
  if (rb !== undefined) {
    if (!isObj(rb)) return lenient ? t : undefined;
    const b: { initial?: number; max?: number } = {};
    for (const k of ["initial", "max"] as const) {
      if (rb[k] === undefined) continue;
      if (!durationOk(rb[k])) {
        if (lenient) continue;
        return undefined;
      }
      b[k] = parseDuration(rb[k]);
    }
    t.restartBackoff = b;
  }
  return t;
}

const camelToSnake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function has(o: Obj, snakePath: string): boolean {
  let cur: unknown = o;
  for (const k of snakePath.split(".")) {
    if (!isObj(cur) || cur[k] === undefined) return false;
    cur = cur[k];
  }
  return true;
}

/** Runs compilePolicy (the library's own validation) and turns its error into an issue at the YAML path. */
function checkPolicy(o: Obj, base: Policy | undefined, at: PathSeg[], out: RawIssue[]): Policy | undefined {
  const t = timingOf(o);
  if (!t) return undefined;
  try {
    return compilePolicy(t, base);
  } catch (e) {
    if (!(e instanceof InvalidOptionError)) throw e;
    const field = camelToSnake(e.field ?? "");
    const raw = e.message.startsWith(`${e.field}: `) ? e.message.slice(`${e.field}: `.length) : e.message;
    const msg = raw.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, camelToSnake);
    // Point at the key the user actually wrote in this mapping.
    let key = field;
    if (!has(o, key)) {
      if (field === "timeout" && has(o, "interval")) key = "interval";
      else if (field === "restart_backoff.max" && has(o, "restart_backoff.initial"))
        key = "restart_backoff.initial";
    }
    out.push({
      path: has(o, key) ? [...at, ...key.split(".")] : at,
      message: has(o, field)
        ? msg
        : `${field} ${msg} (${field} comes from ${base ? "defaults" : "the built-in default"})`,
    });
    return undefined;
  }
}

// ---------------------------------------------------------------- all rules

/**
 * The timing policies the checks compiled (compilePolicy, the library's own validation):
 * the defaults' and, by index, each peer's over them; undefined where a section is
 * malformed (its problem is among the issues). A file without issues has them all, and
 * resolve.ts uses them as they are: the policy of a config is compiled once.
 */
export interface CompiledPolicies {
  base: Policy | undefined;
  peers: Array<Policy | undefined>;
}

/** Every cross-field problem of an (interpolated) config document. */
export function crossCheck(doc: unknown): RawIssue[] {
  return checkConfig(doc).issues;
}

/** Every cross-field problem of an (interpolated) config document, and its compiled policies. */
export function checkConfig(doc: unknown): { issues: RawIssue[]; policies: CompiledPolicies } {
  const out: RawIssue[] = [];
  const policies: CompiledPolicies = { base: undefined, peers: [] };
  if (!isObj(doc)) return { issues: out, policies };
  const node = isObj(doc.node) ? doc.node : undefined;
  out.push(...fleetIssues(doc));

  if (node && typeof node.identity === "string") {
    const problem = identityProblem(node.identity);
    if (problem) out.push({ path: ["node", "identity"], message: problem });
  }

  // Binding beyond loopback without a token would expose the control endpoints.
  if (node && typeof node.listen === "string") {
    const addr = parseListen(node.listen);
    if (addr && !isLoopbackHost(addr.host) && node.api_token === undefined) {
      out.push({
        path: ["node", "listen"],
        message: "is not a loopback address, so other hosts can reach the API, but node.api_token is not set",
        hint: "set node.api_token or bind 127.0.0.1",
      });
    }
    // Off loopback the read routes serve the peer list, internal endpoints, the journal
    // and receivers' answers to whoever reaches the port: they need a token too.
    if (addr && !isLoopbackHost(addr.host) && node.read_token === undefined && node.public_reads !== true) {
      out.push({
        path: ["node", "read_token"],
        message: `is required because node.listen (${node.listen}) is not a loopback address: without it anyone who can reach the port reads the peer list, the journal, the deliveries and /metrics`,
        hint:
          "add `read_token: ${file:/etc/wdmesh/read.token}` under node: (at least 16 characters, e.g. from `openssl rand -hex 32`), " +
          "or `public_reads: true` under node: to serve these reads to anyone; /health stays open either way",
      });
    }
  }

  // Timing: defaults, then every peer over them (exactly as the Monitor compiles them).
  const defaults = doc.defaults === undefined ? {} : doc.defaults;
  let base = isObj(defaults) ? checkPolicy(defaults, undefined, ["defaults"], out) : undefined;
  policies.base = base;
  if (!base && isObj(defaults) && timingOf(defaults) === undefined) {
    // Malformed defaults fields are reported by the schema; check peers against the well-formed rest.
    try {
      base = compilePolicy(timingOf(defaults, true) ?? {});
    } catch {
      base = undefined;
    }
  }

  const peers = list(doc.peers);
  duplicates(peers, ["peers"], "peer", out);
  peers.forEach((p, i) => {
    if (!isObj(p)) return;
    if (isObj(p.probe)) exactlyOne(p.probe, PROBE_KINDS, ["peers", i, "probe"], "probe", out);
    if (isObj(p.restart)) exactlyOne(p.restart, ACTION_KINDS, ["peers", i, "restart"], "restart", out);
    if (isObj(p.isolate)) {
      exactlyOne(p.isolate, ACTION_KINDS, ["peers", i, "isolate"], "isolate", out);
      if (p.isolate.release !== undefined && p.isolate.command === undefined) {
        out.push({
          path: ["peers", i, "isolate", "release"],
          message: "is only used with isolate.command (systemd isolation is undone by wdmesh itself)",
        });
      }
    }
    if (base) policies.peers[i] = checkPolicy(p, base, ["peers", i], out);
  });
  checkDependencies(peers, out);

  const alerts = list(doc.alerts);
  duplicates(alerts, ["alerts"], "alert sink", out);
  alerts.forEach((a, i) => {
    if (!isObj(a)) return;
    exactlyOne(a, SINK_KINDS, ["alerts", i], "alert sink", out);
    if (isObj(a.retry)) {
      try {
        const initial = parseDuration((a.retry.initial ?? SINK_DEFAULTS.retryInitialMs) as Duration);
        const max = parseDuration((a.retry.max ?? SINK_DEFAULTS.retryMaxMs) as Duration);
        if (max < initial) {
          out.push({
            path: ["alerts", i, "retry", "max"],
            message: `must be >= retry.initial (${initial} ms), got ${max} ms`,
          });
        }
      } catch {
        // A malformed duration is reported by the schema.
      }
    }
    const w = a.webhook;
    if (isObj(w)) {
      const format = w.format ?? SINK_DEFAULTS.webhookFormat;
      if (format === "pagerduty" && w.routing_key === undefined) {
        out.push({
          path: ["alerts", i, "webhook", "routing_key"],
          message: "is required when format is pagerduty",
        });
      }
      if (format === "standard") {
        const key = typeof w.secret === "string" ? standardKey(w.secret) : { error: "is required" };
        if (!Buffer.isBuffer(key)) {
          out.push({
            path: ["alerts", i, "webhook", "secret"],
            message: `${key.error} when format is standard`,
          });
        }
      }
      if (format !== "pagerduty" && w.routing_key !== undefined) {
        out.push({
          path: ["alerts", i, "webhook", "routing_key"],
          message: "is only used with format: pagerduty",
        });
      }
    }
  });

  const mesh = isObj(doc.mesh) ? doc.mesh : undefined;
  if (mesh) {
    const members = list(mesh.members);
    duplicates(members, ["mesh", "members"], "mesh member", out);
    const peerNames = new Set(peers.flatMap((p) => (isObj(p) && typeof p.name === "string" ? [p.name] : [])));
    members.forEach((m, i) => {
      if (!isObj(m) || typeof m.name !== "string") return;
      if (node && m.name === node.name) {
        out.push({
          path: ["mesh", "members", i, "name"],
          message: `"${m.name}" is this node's own name (node.name); list only the other nodes`,
        });
      } else if (peerNames.has(m.name)) {
        out.push({
          path: ["mesh", "members", i, "name"],
          message: `"${m.name}" is also a peer name; mesh members are watched as peers, so names must differ`,
        });
      }
    });
    members.forEach((m, i) => {
      if (!isObj(m) || typeof m.url !== "string") return;
      const problem = memberUrlProblem(m.url);
      if (problem) out.push({ path: ["mesh", "members", i, "url"], message: problem });
    });
    const withKeys = members.filter((m) => isObj(m) && m.public_key !== undefined);
    members.forEach((m, i) => {
      if (!isObj(m) || typeof m.public_key !== "string") return;
      const problem = publicKeyProblem(m.public_key);
      if (problem) out.push({ path: ["mesh", "members", i, "public_key"], message: problem });
    });
    const own = node && typeof node.identity === "string" ? ownPublicKey(node.identity) : undefined;
    for (const d of duplicateKeys(
      members.map((m) => (isObj(m) && typeof m.public_key === "string" ? m.public_key : undefined)),
      own,
    )) {
      const first = members[d.first];
      out.push({
        path: ["mesh", "members", d.index, "public_key"],
        message:
          d.first < 0
            ? "is this node's own public key (node.identity); every node has its own key"
            : `is the same public key as mesh.members[${d.first}] (${JSON.stringify(isObj(first) ? first.name : "?")}): one key holder would count as two nodes`,
        hint: "run `wdmesh keygen` on each node and list each node's own public key",
      });
    }
    if (withKeys.length > 0 && node && node.identity === undefined) {
      out.push({
        path: ["node", "identity"],
        message:
          "is required when a mesh member has a public_key: those members expect this node to sign with its own key too",
        hint: "run `wdmesh keygen --out /etc/wdmesh/node.key`, add `identity: ${file:/etc/wdmesh/node.key}` under node:, and list the printed public key on the other nodes",
      });
    }
    const noKey = mesh.key === undefined || mesh.key === null || mesh.key === "";
    if (members.length > 0 && noKey && withKeys.length < members.length) {
      out.push({
        path: ["mesh", "key"],
        message:
          "is required when mesh.members is set: members prove their heartbeats and views with it, " +
          "so an impostor on a member's port is not taken as healthy; create one with `openssl rand -hex 32` " +
          "and give every node the same key (e.g. key: ${file:/etc/wdmesh/mesh.key})",
      });
    }
  }
  return { issues: out, policies };
}
