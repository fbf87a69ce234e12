// Options → options with defaults → compiled options (ms numbers), validated once.
// Every timing field is documented with its unit; durations accept ms numbers or
// strings such as "30s" (see duration.ts).
import { parseDuration, type Duration } from "./duration.js";
import { TIMING_DEFAULTS as D } from "./defaults.js";
import { InvalidOptionError } from "./errors.js";
import { type ISOLATION_MODES, TIMING_COUNT_MAX } from "./rules.js";
import type { ContainerIsolateSpec, ContainerProbeSpec, ContainerRestartSpec } from "./container.js";

/** Timing and escalation knobs; settable on the Monitor (defaults) and per peer. */
export interface TimingOptions {
  /** How often a healthy peer is probed. Default 30 s. */
  interval?: Duration;
  /** Deadline of one probe: connect + headers + body. Default 5 s; must be < interval. */
  timeout?: Duration;
  /** Delay before the next probe after a miss. Default = interval. */
  retryInterval?: Duration;
  /** K: consecutive misses before a restart. Default 3, >= 1. */
  missedBeforeRestart?: number;
  /** R: restarts in one incident before isolation. Default 3, >= 0. */
  restartsBeforeIsolate?: number;
  /** Extra wait after a restart before probing again. Default = interval. */
  startupGrace?: Duration;
  /** Added to startupGrace after restart n: initial × 2^(n−1), capped at max. Default 10 s / 5 m. */
  restartBackoff?: { initial?: Duration; max?: Duration };
  /** A peer HEALTHY this long gets restart_count back to 0. Default 10 m. */
  stableAfter?: Duration;
  /** Consecutive ok probes needed to count as recovered. Default 1, >= 1. */
  successThreshold?: number;
}

export interface HttpProbeSpec {
  url: string;
  /** Status that means alive. Default 200. */
  expectStatus?: number;
  /** Extra request headers (e.g. Authorization). Values are never logged. */
  headers?: Record<string, string>;
}
export interface TcpProbeSpec {
  host: string;
  port: number;
}
export interface ExecProbeSpec {
  /** argv[0] is the program; no shell. Exit 0 = alive. */
  argv: string[];
}
/**
 * Authenticated heartbeat of a wdmesh node: GET /health?nonce=N. With `key`, the answer's
 * proof = HMAC-SHA256(key, "NAME:N"); with `publicKey` (the node's own Ed25519 identity),
 * GET /health?nonce=N&from=REQUESTER and the answer's `signature` is checked with it.
 */
export interface HeartbeatProbeSpec {
  url: string;
  node: string;
  /** The shared mesh key. */
  key?: string;
  /** The node's Ed25519 public key (base64 of 32 bytes); takes precedence over `key`. */
  publicKey?: string;
  /**
   * This node's name, sent as `from`: the answer's proof or signature must then be bound
   * to it (and to `mesh`), so an answer made for another requester fails.
   */
  from?: string;
  /** The mesh identity the answer must be bound to (with `from`). Default "". */
  mesh?: string;
}
export type ProbeSpec =
  | { http: HttpProbeSpec }
  | { tcp: TcpProbeSpec }
  | { exec: ExecProbeSpec }
  | { heartbeat: HeartbeatProbeSpec }
  | { container: ContainerProbeSpec };

export interface CommandSpec {
  argv: string[];
  /** Deadline of the command. Default 30 s. */
  timeout?: Duration;
}
export type RestartSpec =
  | { systemd: { unit: string; timeout?: Duration } }
  | { command: CommandSpec }
  | { container: ContainerRestartSpec };
export type IsolateMode = (typeof ISOLATION_MODES)[number];
export type IsolateSpec =
  | { systemd: { unit: string; mode?: IsolateMode; timeout?: Duration } }
  | { command: CommandSpec; release?: CommandSpec }
  | { container: ContainerIsolateSpec };

/** Full form of registerPeer: the keys of a config peer, camelCase, timing overrides too. */
export interface PeerSpec extends TimingOptions {
  name: string;
  probe: ProbeSpec;
  restart?: RestartSpec | "none";
  isolate?: IsolateSpec | "none";
  /**
   * Watched only (mesh members, the other watchdogs): after missed_before_restart
   * misses the peer becomes OFFLINE with one HIGH `alert`, and is never restarted or
   * isolated. Default false.
   */
  alertOnly?: boolean;
  /**
   * Peers this one depends on (their names). While one of them fails (DEGRADED, OFFLINE or
   * ISOLATED), this peer is not remediated and not paged on its own: its failures join
   * that peer's incident (`root_cause` in its health). Once the dependency recovers, this
   * peer gets a fresh startup grace before its misses count. A name not registered (yet)
   * is ignored until it is; a cycle is refused. Default none.
   */
  dependsOn?: readonly string[];
  /**
   * This peer's timing already compiled by compilePolicy (the peers of
   * monitorOptionsFromConfig carry one): used as it is, instead of the timing keys,
   * which must then be absent.
   */
  policy?: Policy;
}

/** Compiled timing policy of one peer: every duration in ms. */
export interface Policy {
  intervalMs: number;
  timeoutMs: number;
  retryIntervalMs: number;
  missedBeforeRestart: number;
  restartsBeforeIsolate: number;
  startupGraceMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  stableAfterMs: number;
  successThreshold: number;
  /** Alert-only peer (PeerSpec.alertOnly): OFFLINE after K misses, never restarted or isolated. */
  alertOnly?: boolean;
}

/** 5 s, or 80 % of a shorter interval, so the default always satisfies timeout < interval. */
function defaultTimeout(intervalMs: number): number {
  return Math.min(D.timeoutMs, Math.max(1, Math.floor(intervalMs * D.timeoutIntervalFraction)));
}

/** The keys of TimingOptions: what a compiled `policy` replaces. */
const TIMING_KEYS = [
  "interval",
  "timeout",
  "retryInterval",
  "missedBeforeRestart",
  "restartsBeforeIsolate",
  "startupGrace",
  "restartBackoff",
  "stableAfter",
  "successThreshold",
] as const satisfies ReadonlyArray<keyof TimingOptions>;

/**
 * The policies compilePolicy returned (frozen). A policy given to the Monitor is taken
 * as it is only when it is one of these: a copy or a hand-made object could break a
 * rule compilePolicy checks, so it is refused rather than trusted.
 */
const compiledPolicies = new WeakSet<Policy>();

function dur(v: Duration | undefined, field: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(v, field);
  } catch {
    throw new InvalidOptionError(
      field,
      `${JSON.stringify(v)} is not a duration; use ms (number) or a string like "30s", "500ms", "5m"`,
    );
  }
  if (ms < min) throw new InvalidOptionError(field, `must be >= ${min} ms (got ${ms} ms)`);
  return ms;
}

function int(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(
      field,
      `must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

/**
 * Compiles timing options over a base policy. `prefix` names the field in errors
 * (e.g. "peers.sidecar."). Throws InvalidOptionError (code WDM_INVALID_OPTION).
 */
export function compilePolicy(
  opts: TimingOptions & { alertOnly?: boolean },
  base?: Policy,
  prefix = "",
): Policy {
  const f = (n: string): string => prefix + n;
  if (opts.alertOnly !== undefined && typeof opts.alertOnly !== "boolean") {
    throw new InvalidOptionError(
      f("alertOnly"),
      `must be true or false (got ${JSON.stringify(opts.alertOnly)})`,
    );
  }
  const interval = dur(opts.interval, f("interval"), 1) ?? base?.intervalMs ?? D.intervalMs;
  const timeout = dur(opts.timeout, f("timeout"), 1) ?? base?.timeoutMs ?? defaultTimeout(interval);
  const retry = dur(opts.retryInterval, f("retryInterval"), 1) ?? base?.retryIntervalMs ?? interval;
  const grace = dur(opts.startupGrace, f("startupGrace"), 0) ?? base?.startupGraceMs ?? interval;
  const bInit =
    dur(opts.restartBackoff?.initial, f("restartBackoff.initial"), 0) ??
    base?.backoffInitialMs ??
    D.backoffInitialMs;
  const bMax =
    dur(opts.restartBackoff?.max, f("restartBackoff.max"), 0) ?? base?.backoffMaxMs ?? D.backoffMaxMs;
  const stable = dur(opts.stableAfter, f("stableAfter"), 0) ?? base?.stableAfterMs ?? D.stableAfterMs;
  const k =
    int(opts.missedBeforeRestart, f("missedBeforeRestart"), 1, TIMING_COUNT_MAX) ??
    base?.missedBeforeRestart ??
    D.missedBeforeRestart;
  const r =
    int(opts.restartsBeforeIsolate, f("restartsBeforeIsolate"), 0, TIMING_COUNT_MAX) ??
    base?.restartsBeforeIsolate ??
    D.restartsBeforeIsolate;
  const s =
    int(opts.successThreshold, f("successThreshold"), 1, TIMING_COUNT_MAX) ??
    base?.successThreshold ??
    D.successThreshold;
  if (timeout >= interval) {
    throw new InvalidOptionError(
      f("timeout"),
      `must be shorter than interval (timeout ${timeout} ms >= interval ${interval} ms); lower timeout or raise interval`,
    );
  }
  if (bMax < bInit) {
    throw new InvalidOptionError(
      f("restartBackoff.max"),
      `must be >= restartBackoff.initial (${bMax} ms < ${bInit} ms)`,
    );
  }
  const policy: Policy = Object.freeze({
    intervalMs: interval,
    timeoutMs: timeout,
    retryIntervalMs: retry,
    missedBeforeRestart: k,
    restartsBeforeIsolate: r,
    startupGraceMs: grace,
    backoffInitialMs: bInit,
    backoffMaxMs: bMax,
    stableAfterMs: stable,
    successThreshold: s,
    // Not inherited from the base: it describes one peer, not timing defaults.
    ...(opts.alertOnly === true ? { alertOnly: true } : {}),
  });
  compiledPolicies.add(policy);
  return policy;
}

/**
 * The policy of a Monitor (no `base`) or of a peer (over the Monitor's `base`): the
 * compiled `opts.policy` as it is, or else the timing keys compiled now. Throws
 * InvalidOptionError for a policy compilePolicy did not return, or one given together
 * with timing keys.
 */
export function policyOf(
  opts: TimingOptions & { alertOnly?: boolean; policy?: Policy },
  base?: Policy,
  prefix = "",
): Policy {
  const p = opts.policy;
  if (p === undefined) return compilePolicy(opts, base, prefix);
  if (typeof p !== "object" || p === null || !compiledPolicies.has(p)) {
    throw new InvalidOptionError(
      prefix + "policy",
      "must be a policy compilePolicy (or monitorOptionsFromConfig) returned, not a copy; or give the timing keys instead",
    );
  }
  const both = TIMING_KEYS.find((k) => opts[k] !== undefined);
  if (both !== undefined) {
    throw new InvalidOptionError(prefix + both, "give either a compiled policy or the timing keys, not both");
  }
  if ((opts.alertOnly === true) !== (p.alertOnly === true)) {
    throw new InvalidOptionError(prefix + "alertOnly", "must match the compiled policy's alertOnly");
  }
  return p;
}

/** Delay before the first probe after restart number `n` (1-based): grace + initial × 2^(n−1), capped. */
export function restartDelayMs(p: Policy, n: number): number {
  const exp = Math.min(p.backoffInitialMs * 2 ** Math.max(0, n - 1), p.backoffMaxMs);
  return p.startupGraceMs + exp;
}
