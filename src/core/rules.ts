// The rules a name, a command, a systemd unit, a duration and a bound must follow, each
// written once. The library (peer-spec.ts, the Monitor's options) and the config file's
// schema (config/schema.ts, published as JSON Schema) both call these, so a config that
// validates also runs, and a peer the library accepts can be written in the config.
// Each check returns why the value is wrong (a sentence fragment the caller prefixes with
// the field), or undefined when it is fine.

/**
 * Names of nodes, peers, mesh members and alert sinks: 1-128 of letters, digits and
 * _ . @ -, starting with a letter or digit. They appear in URLs (/v1/peers/NAME), metric
 * labels, alerts and heartbeat proofs, so they never hold spaces, slashes or markup.
 */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
export const NAME_HELP =
  'use 1-128 of letters, digits and _ . @ -, starting with a letter or digit, e.g. "sidecar"';

export function nameProblem(name: unknown): string | undefined {
  return typeof name === "string" && NAME_RE.test(name) ? undefined : `is not a valid name; ${NAME_HELP}`;
}

/**
 * Shortest accepted secret, characters: the API token, the read token and the mesh key
 * (the library's readToken and mesh.key, the config's api_token, read_token and mesh.key).
 */
export const SECRET_MIN_LENGTH = 16;

/** Most probes in flight at once on one node (count); the default is in defaults.ts. */
export const MAX_CONCURRENCY = 65_536;

/** Bound of the counts of a timing policy (missed_before_restart, restarts_before_isolate, success_threshold). */
export const TIMING_COUNT_MAX = 1000;

export function concurrencyProblem(n: unknown): string | undefined {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_CONCURRENCY
    ? undefined
    : `must be a whole number from 1 to ${MAX_CONCURRENCY}`;
}

/** A command is an argv list run without a shell; its program is an absolute path (no PATH lookup). */
export const ARGV_EMPTY_HELP = "must list at least the program, e.g. [/usr/local/bin/restart-shield]";
export const ARGV_ITEM_HELP = "must not be empty";
export const ARGV0_HELP = "argv[0] must be an absolute path (no shell and no PATH lookup is used)";

export function argvProblem(argv: unknown): string | undefined {
  if (!Array.isArray(argv) || argv.length === 0) return ARGV_EMPTY_HELP;
  if (argv.some((x) => typeof x !== "string" || x === "")) return `every item ${ARGV_ITEM_HELP}`;
  return isAbsoluteProgram(argv[0] as string) ? undefined : ARGV0_HELP;
}

export function isAbsoluteProgram(program: string): boolean {
  return program.startsWith("/");
}

/** systemd unit types a unit name may end in. */
export const UNIT_SUFFIXES = [
  "service",
  "socket",
  "device",
  "mount",
  "automount",
  "swap",
  "target",
  "path",
  "timer",
  "slice",
  "scope",
] as const;
/** systemd unit name: [A-Za-z0-9:_.\\-] with at most one @ followed by a non-empty instance, then a known suffix; max 255. */
export const UNIT_RE = new RegExp(
  `^(?=.{1,255}$)[A-Za-z0-9:_.\\\\-]+(?:@[A-Za-z0-9:_.\\\\-]+)?\\.(?:${UNIT_SUFFIXES.join("|")})$`,
);
export const UNIT_HELP =
  'is not a systemd unit name; use the full name with its type suffix, e.g. "sidecar.service"';

export function unitProblem(unit: unknown): string | undefined {
  return typeof unit === "string" && UNIT_RE.test(unit) ? undefined : UNIT_HELP;
}

/** The duration grammar of duration.ts: "0" or <number><unit>… with units ms s m h d. */
export const DURATION_RE = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/;
export const DURATION_HELP =
  'must be a duration such as "500ms", "30s", "5m", "1h", "1m30s", or a whole number of milliseconds (>= 0)';

/** An HTTP status a probe may expect. */
export const HTTP_STATUS_MIN = 100;
export const HTTP_STATUS_MAX = 599;
export const HTTP_STATUS_HELP = `must be an HTTP status from ${HTTP_STATUS_MIN} to ${HTTP_STATUS_MAX}`;

export function httpStatusProblem(s: unknown): string | undefined {
  return Number.isInteger(s) && (s as number) >= HTTP_STATUS_MIN && (s as number) <= HTTP_STATUS_MAX
    ? undefined
    : HTTP_STATUS_HELP;
}

/** isolate.systemd.mode values. */
export const ISOLATION_MODES = ["network", "stop", "freeze"] as const;

/** mesh.confirm values: how many of the configured nodes must confirm a failure. */
export const CONFIRM_MODES = ["any", "majority", "all"] as const;
export type ConfirmMode = (typeof CONFIRM_MODES)[number];

/** alerts[].webhook.format values: the payload a webhook sink sends. */
export const WEBHOOK_FORMATS = ["generic", "standard", "slack", "pagerduty"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A container name or id the engine's API can take in a path (and nothing else). */
export const CONTAINER_REF_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
export const CONTAINER_REF_HELP =
  "a container name or id: letters, digits, _ . - (first a letter or digit), at most 255 characters";

/** Why `ref` is not a usable container name or id, or undefined when it is. */
export function containerRefProblem(ref: unknown): string | undefined {
  return typeof ref === "string" && CONTAINER_REF_RE.test(ref) ? undefined : `is not ${CONTAINER_REF_HELP}`;
}

/** Container engines (probe/restart/isolate `container.engine`, `peers_from.containers.engine`). */
export const CONTAINER_ENGINES = ["docker", "podman"] as const;

/** isolate.container.host_mode values. */
export const CONTAINER_HOST_MODES = ["pause", "stop"] as const;
/**
 * The fleet's lease timing rule (as Patroni's loop_wait + 2 × retry_timeout <= ttl):
 * keepalive_interval + 2 × request_timeout <= lease_ttl. A node acts only within
 * lease_ttl − request_timeout of the send time of its last renewal that etcd answered,
 * so a node cut off from etcd stops acting before its lease can expire for the others,
 * and a node that renews on time never stops. Returns a problem, or undefined.
 */
export function leaseTimingProblem(t: {
  leaseTtlMs: number;
  keepaliveIntervalMs: number;
  requestTimeoutMs: number;
}): string | undefined {
  if (t.keepaliveIntervalMs + 2 * t.requestTimeoutMs <= t.leaseTtlMs) return undefined;
  return `keepalive_interval + 2 × request_timeout (${t.keepaliveIntervalMs + 2 * t.requestTimeoutMs} ms) must be <= lease_ttl (${t.leaseTtlMs} ms): a node cut off from etcd must stop acting before its lease can expire for the others; raise lease_ttl or lower the other two`;
}
