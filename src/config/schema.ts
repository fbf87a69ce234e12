// The daemon's config file (the YAML that `wdmesh run` reads) as ONE zod schema: snake_case keys exactly as
// written in YAML, strict objects (unknown keys are errors), every field described
// with its meaning and unit. `wdmesh schema` publishes it as JSON Schema
// (json-schema.ts); load.ts validates with it and resolve.ts turns the result into
// camelCase options with ms numbers. Rules spanning several fields (duplicate
// names, exactly one probe kind, timeout < interval, ...) live in cross-checks.ts
// and run as this schema's final refinement.
// Field builders live in schema-fields.ts, the mesh section in mesh-schema.ts, the
// container sections in container-schema.ts.
import { z } from "zod";
import { crossCheck } from "./cross-checks.js";
import {
  HTTP_STATUS_HELP,
  HTTP_STATUS_MAX,
  HTTP_STATUS_MIN,
  ISOLATION_MODES,
  MAX_CONCURRENCY,
  SECRET_MIN_LENGTH,
  TIMING_COUNT_MAX,
  WEBHOOK_FORMATS,
} from "../core/rules.js";
import { SEVERITIES } from "../core/types.js";
import {
  containerIsolateSchema,
  containerProbeSchema,
  containerRestartSchema,
  peersFromSchema,
} from "./container-schema.js";
import {
  ACTION_DEFAULTS,
  CONCURRENCY_DEFAULT,
  describeDefault,
  NODE_DEFAULTS,
  LEDGER_DEFAULTS,
  PROBE_DEFAULTS,
  SELF_HEALTH_DEFAULTS,
  SINK_DEFAULTS,
  STORM_DEFAULTS,
  TIMING_DEFAULTS,
  FLEET_DEFAULTS,
} from "../core/defaults.js";
import { parseListen } from "./rules.js";

import { argv, count, duration, headers, hostName, httpUrl, name, secret, unit } from "./schema-fields.js";
import { meshSchema } from "./mesh-schema.js";

// ---------------------------------------------------------------- node

export const nodeSchema = z
  .strictObject({
    name: name("This node's name in the mesh (required). Shown in alerts, /health and the journal."),
    listen: z
      .string()
      .refine((s) => parseListen(s) !== undefined, {
        error: `must be host:port, e.g. "${NODE_DEFAULTS.listen}" or "[::1]:9760" (port 0-65535)`,
      })
      .optional()
      .describe(
        `Address of the HTTP API, dashboard and /health, as host:port ("[::1]:9760" for IPv6). A non-loopback address requires api_token, and read_token unless public_reads is true. ${describeDefault(NODE_DEFAULTS.listen)}`,
      ),
    data_dir: z
      .string()
      .min(1, { error: "must not be empty" })
      .optional()
      .describe(
        `Directory of the SQLite state and journal. A relative path is relative to the config file's directory. ${describeDefault(NODE_DEFAULTS.dataDir)}`,
      ),
    ledger_dir: z
      .string()
      .min(1, { error: "must not be empty" })
      .refine((s) => s.startsWith("/"), { error: "must be an absolute path, e.g. /run/wdmesh" })
      .optional()
      .describe(
        `Directory of the host's step ledger (steps.db), shared by every node of this host (daemons and embedded agents): every restart, isolation and release is taken there first, under an OS file lock. Created mode 0700; must be owned by the watchdog's user and not writable by group or others. Default: $WDMESH_LEDGER_DIR when set, else ${LEDGER_DEFAULTS.dir}.`,
      ),
    api_token: secret(
      "Bearer token required by control endpoints (release, restart, check, silence); at least " +
        String(SECRET_MIN_LENGTH) +
        " characters. Supports ${ENV} and ${file:/path}. Never logged.",
      SECRET_MIN_LENGTH,
    ).optional(),
    read_token: secret(
      "Bearer token that read endpoints (/v1/*, /metrics, and so the data the dashboard shows) require; the dashboard page itself and /health stay open. Required when listen is not a loopback address, unless public_reads is true. At least " +
        String(SECRET_MIN_LENGTH) +
        " characters. Never logged.",
      SECRET_MIN_LENGTH,
    ).optional(),
    identity: secret(
      "This node's own Ed25519 private key (PKCS#8 PEM), usually ${file:/etc/wdmesh/node.key} written by `wdmesh keygen`. It signs this node's heartbeats, views and view requests (the members list its public key), and its journal: a signed checkpoint per commit, checked by `wdmesh events --verify --public-key`. Never logged.",
    ).optional(),
    public_reads: z
      .boolean({ error: "must be true or false" })
      .optional()
      .describe(
        `Serve the read endpoints without a token even though listen is not a loopback address (anyone who can reach the port reads the peer list, journal, deliveries and metrics). ${describeDefault(NODE_DEFAULTS.publicReads)}`,
      ),
    hostnames: z
      .array(
        z.string().regex(/^[A-Za-z0-9_.-]{1,253}$/, {
          error: 'must be a host name without port, e.g. "wd1.example.net"',
        }),
      )
      .optional()
      .describe(
        "Host names this node is reached by, besides its listen address and loopback names. A request whose Host header names anything else is refused with 421 (DNS-rebinding protection). Default [].",
      ),
    max_connections: count(
      1,
      65_535,
      `Most simultaneous API connections (sockets); more are refused at accept so the node's file descriptors stay for its probes (count). ${describeDefault(NODE_DEFAULTS.maxConnections)}`,
    ).optional(),
    host: hostName(
      "The host this node runs on: a peer is restarted, isolated and released only by a node on the peer's host. Default: the machine's hostname.",
    ).optional(),
  })
  .describe("This node: its name, API address, state directory and tokens.");

// ---------------------------------------------------------------- timing (defaults and per-peer overrides)

const timingShape = {
  interval: duration(
    `How often a healthy peer is probed (ms number or duration string). ${describeDefault(TIMING_DEFAULTS.intervalMs, "ms")}`,
  ).optional(),
  timeout: duration(
    `Deadline of one probe: connect + headers + body (ms or duration). Must be shorter than interval; with an interval shorter than the default, the default is ${TIMING_DEFAULTS.timeoutIntervalFraction * 100}% of it. ${describeDefault(TIMING_DEFAULTS.timeoutMs, "ms")}`,
  ).optional(),
  retry_interval: duration(
    "Delay before the next probe after a miss (ms or duration). Default = interval.",
  ).optional(),
  missed_before_restart: count(
    1,
    TIMING_COUNT_MAX,
    `K: consecutive missed probes before the peer is restarted (count). ${describeDefault(TIMING_DEFAULTS.missedBeforeRestart)}`,
  ).optional(),
  restarts_before_isolate: count(
    0,
    TIMING_COUNT_MAX,
    `R: failed restarts in one incident before the peer is isolated (count; 0 isolates at the first K misses). ${describeDefault(TIMING_DEFAULTS.restartsBeforeIsolate)}`,
  ).optional(),
  startup_grace: duration(
    "Extra wait after a restart before probing again (ms or duration). Default = interval.",
  ).optional(),
  restart_backoff: z
    .strictObject({
      initial: duration(
        `Backoff added after the first restart (ms or duration). ${describeDefault(TIMING_DEFAULTS.backoffInitialMs, "ms")}`,
      ).optional(),
      max: duration(
        `Cap of the doubling backoff (ms or duration); must be >= initial. ${describeDefault(TIMING_DEFAULTS.backoffMaxMs, "ms")}`,
      ).optional(),
    })
    .optional()
    .describe("Added to startup_grace after restart n: initial × 2^(n−1), capped at max."),
  stable_after: duration(
    `A peer HEALTHY this long gets its restart count reset to 0 (ms or duration). ${describeDefault(TIMING_DEFAULTS.stableAfterMs, "ms")}`,
  ).optional(),
  success_threshold: count(
    1,
    TIMING_COUNT_MAX,
    `Consecutive ok probes needed to count as recovered (count). ${describeDefault(TIMING_DEFAULTS.successThreshold)}`,
  ).optional(),
};

export const defaultsSchema = z
  .strictObject({
    ...timingShape,
    concurrency: count(
      1,
      MAX_CONCURRENCY,
      `Maximum probes in flight at once on this node (count, 1-${MAX_CONCURRENCY}). ${describeDefault(CONCURRENCY_DEFAULT)}`,
    ).optional(),
  })
  .describe("Timing and escalation defaults; every key but concurrency may be overridden per peer.");

// ---------------------------------------------------------------- peers

const probeSchema = z
  .strictObject({
    http: z
      .strictObject({
        url: httpUrl("Health endpoint; a GET answering expect_status means alive."),
        expect_status: z
          .number()
          .int({ error: HTTP_STATUS_HELP })
          .min(HTTP_STATUS_MIN, { error: HTTP_STATUS_HELP })
          .max(HTTP_STATUS_MAX, { error: HTTP_STATUS_HELP })
          .optional()
          .describe(
            `HTTP status that means alive (${HTTP_STATUS_MIN}-${HTTP_STATUS_MAX}). ${describeDefault(PROBE_DEFAULTS.expectStatus)}`,
          ),
        headers: headers("Extra request headers, e.g. Authorization. Values are secrets.").optional(),
      })
      .optional()
      .describe("HTTP GET probe."),
    tcp: z
      .strictObject({
        host: z
          .string()
          .min(1, { error: "must be a host name or IP address" })
          .describe("Host name or IP address."),
        port: count(1, 65535, "TCP port (1-65535)."),
      })
      .optional()
      .describe("TCP connect probe: alive when the connection is accepted."),
    exec: z
      .strictObject({
        argv: argv("Program and arguments, argv[0] absolute; run without a shell. Exit status 0 = alive."),
      })
      .optional()
      .describe("Command probe, bounded by the peer's timeout."),
    container: containerProbeSchema.optional(),
  })
  .describe("How the peer is probed: exactly one of http, tcp, exec, container.")
  .meta({ minProperties: 1, maxProperties: 1 });

const commandSchema = z
  .strictObject({
    argv: argv("Program and arguments, argv[0] absolute; run without a shell."),
    timeout: duration(
      `Deadline of the command (ms or duration); it is killed after. ${describeDefault(ACTION_DEFAULTS.commandTimeoutMs, "ms")}`,
    ).optional(),
  })
  .describe("A command run without a shell.");

const none = z.literal("none").describe('"none": take no action of this kind.');

const restartSchema = z
  .union(
    [
      none,
      z
        .strictObject({
          systemd: z
            .strictObject({
              unit: unit("Unit to restart (systemctl restart UNIT)."),
              timeout: duration(
                `Deadline of the restart job (ms or duration). ${describeDefault(ACTION_DEFAULTS.systemctlTimeoutMs, "ms")}`,
              ).optional(),
            })
            .optional()
            .describe("Restart through systemd."),
          command: commandSchema.optional().describe("Restart by running a command."),
          container: containerRestartSchema.optional(),
        })
        .meta({ minProperties: 1, maxProperties: 1 }),
    ],
    { error: 'must be "none" or a mapping with exactly one of systemd, command, container' },
  )
  .describe('How the peer is restarted after missed_before_restart misses: systemd, command or "none".');

const isolateSchema = z
  .union(
    [
      none,
      z
        .strictObject({
          systemd: z
            .strictObject({
              unit: unit("Unit to isolate."),
              mode: z
                .enum(ISOLATION_MODES, { error: `must be one of ${ISOLATION_MODES.join(", ")}` })
                .optional()
                .describe(
                  `network: IPAddressDeny=any applied at runtime and verified; stop: stop the unit; freeze: freeze its cgroup. ${describeDefault(ACTION_DEFAULTS.isolateMode)}`,
                ),
              timeout: duration(
                `Deadline of the isolation step (ms or duration). ${describeDefault(ACTION_DEFAULTS.systemctlTimeoutMs, "ms")}`,
              ).optional(),
            })
            .optional()
            .describe("Isolate through systemd."),
          command: commandSchema.optional().describe("Isolate by running a command."),
          release: commandSchema
            .optional()
            .describe("With command: the command that undoes isolation on `wdmesh release`."),
          container: containerIsolateSchema.optional(),
        })
        .meta({ minProperties: 1 }),
    ],
    { error: 'must be "none" or a mapping with exactly one of systemd, command, container' },
  )
  .describe(
    'How the peer is cut off after restarts_before_isolate failed restarts: systemd, command or "none".',
  );

export const peerSchema = z
  .strictObject({
    name: name("Unique peer name."),
    probe: probeSchema,
    restart: restartSchema.optional(),
    isolate: isolateSchema.optional(),
    host: hostName(
      "The host the peer runs on; only a node on that host restarts, isolates or releases it, the others watch and confirm. Default: this node's host.",
    ).optional(),
    depends_on: z
      .array(name("The name of another peer in peers."))
      .optional()
      .describe(
        "Peers this one depends on (names in peers). While one of them fails, this peer is not remediated and not paged on its own: its failures join that peer's incident, and once it recovers this peer gets a fresh startup_grace before its misses count. Cycles are refused. Default [].",
      ),
    ...timingShape,
  })
  .describe("A watched peer; any defaults key except concurrency may be overridden here.");

// ---------------------------------------------------------------- fleet (etcd coordination)

const coordinationSchema = z
  .strictObject({
    etcd: z
      .strictObject({
        endpoints: z
          .array(httpUrl("An etcd client URL, e.g. http://10.0.0.5:2379 (https with tls)."))
          .min(1, { error: "must list at least one etcd client URL" })
          .describe("etcd v3 client URLs (the cluster's members)."),
        prefix: z
          .string()
          .regex(/^\/[A-Za-z0-9_./-]*$/, { error: 'must be a key path starting with "/", e.g. /wdmesh/prod' })
          .optional()
          .describe(`Key prefix of this fleet in etcd. ${describeDefault(FLEET_DEFAULTS.prefix)}`),
        tls: z
          .strictObject({
            ca: secret("PEM of the CA of etcd's certificates, e.g. ${file:/etc/wdmesh/etcd-ca.pem}."),
            cert: secret("PEM client certificate, for etcd's client-certificate auth.").optional(),
            key: secret("PEM client key (with cert). Never logged.").optional(),
          })
          .optional()
          .describe("TLS to etcd (https endpoints)."),
        lease_ttl: duration(
          `TTL of each node's etcd lease (ms or duration, whole seconds): a node that has not renewed it for this long is OFFLINE to all and its steps are released. ${describeDefault(FLEET_DEFAULTS.leaseTtlMs, "ms")}`,
        ).optional(),
        keepalive_interval: duration(
          `How often a node renews its lease (ms or duration); keepalive_interval + 2 × request_timeout must be <= lease_ttl. ${describeDefault(FLEET_DEFAULTS.keepaliveIntervalMs, "ms")}`,
        ).optional(),
        request_timeout: duration(
          `Deadline of one etcd request (ms or duration). A node acts only within lease_ttl − request_timeout of its last answered renewal. ${describeDefault(FLEET_DEFAULTS.requestTimeoutMs, "ms")}`,
        ).optional(),
      })
      .describe("etcd v3 coordination: membership, observations and steps with fencing tokens."),
  })
  .describe(
    "A fleet of hosts coordinated through etcd. Absent: the built-in mesh (views between members), and nothing of etcd is loaded.",
  );

const fleetHostSchema = z
  .strictObject({
    name: hostName("The host's name (a node.host of the fleet)."),
    fence: z
      .strictObject({ command: commandSchema })
      .optional()
      .describe(
        "Last rung when the host's node is unreachable (its lease expired): a command (power reset through IPMI, a cloud API...) run by exactly one node, with the fencing token in WDMESH_FENCING_TOKEN. Never run while the host's node holds a valid lease.",
      ),
  })
  .describe("A host of the fleet.");

// ---------------------------------------------------------------- alerts

export const alertSchema = z
  .strictObject({
    name: name("Unique sink name (outbox rows and metrics are per sink)."),
    min_severity: z
      .enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(", ")}` })
      .optional()
      .describe(
        `Only actions at or above this severity are sent. ${describeDefault(SINK_DEFAULTS.minSeverity)}`,
      ),
    timeout: duration(
      `Deadline of one delivery request (ms or duration). ${describeDefault(SINK_DEFAULTS.timeoutMs, "ms")}`,
    ).optional(),
    max_age: duration(
      `Undelivered alerts older than this are dead-lettered instead of retried (ms or duration). ${describeDefault(SINK_DEFAULTS.maxAgeMs, "ms")}`,
    ).optional(),
    headers: headers("Extra request headers. Values are secrets.").optional(),
    retry: z
      .strictObject({
        initial: duration(
          `Delay before the first retry, doubled (with jitter) for each next one (ms or duration). ${describeDefault(SINK_DEFAULTS.retryInitialMs, "ms")}`,
        ).optional(),
        max: duration(
          `Longest delay between two attempts (ms or duration); must be >= initial. ${describeDefault(SINK_DEFAULTS.retryMaxMs, "ms")}`,
        ).optional(),
      })
      .optional()
      .describe("Retry delays of failed deliveries to this sink (exponential with jitter)."),
    webhook: z
      .strictObject({
        url: httpUrl("Receiver URL (POST)."),
        secret: secret(
          'HMAC-SHA256 key: of the X-Wdmesh-Signature header (generic), or a Standard Webhooks secret "whsec_<base64>" (standard; required there). Never logged.',
        ).optional(),
        format: z
          .enum(WEBHOOK_FORMATS, { error: `must be one of ${WEBHOOK_FORMATS.join(", ")}` })
          .optional()
          .describe(
            `Payload: generic (the action as JSON, X-Wdmesh-Signature), standard (the same JSON with Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature), slack ({text}) or pagerduty (Events API v2). ${describeDefault(SINK_DEFAULTS.webhookFormat)}`,
          ),
        routing_key: secret(
          "PagerDuty routing key; required when format is pagerduty. Never logged.",
        ).optional(),
      })
      .optional()
      .describe("Signed JSON webhook."),
    alertmanager: z
      .strictObject({
        url: httpUrl("Alertmanager base URL, e.g. http://127.0.0.1:9093 (alerts go to /api/v2/alerts)."),
        resend_interval: duration(
          `Re-send firing alerts this often (ms or duration). ${describeDefault(SINK_DEFAULTS.resendIntervalMs, "ms")}`,
        ).optional(),
      })
      .optional()
      .describe("Prometheus Alertmanager."),
    slack: z
      .strictObject({
        url: httpUrl("Slack incoming-webhook URL. Treated as a secret."),
      })
      .optional()
      .describe("Slack incoming webhook."),
    pagerduty: z
      .strictObject({
        routing_key: secret("Events API v2 routing (integration) key. Never logged."),
        url: httpUrl(`Events API v2 endpoint. ${describeDefault(SINK_DEFAULTS.pagerdutyUrl)}`).optional(),
      })
      .optional()
      .describe("PagerDuty Events API v2."),
  })
  .describe("An alert sink: exactly one of webhook, alertmanager, slack, pagerduty.");

// ---------------------------------------------------------------- self health

export const selfHealthSchema = z
  .union([
    z.literal(false),
    z.strictObject({
      loop_delay_p99: duration(
        `This node is degraded while its event-loop delay p99 over \`window\` is above this (ms or duration). ${describeDefault(SELF_HEALTH_DEFAULTS.loopDelayP99Ms, "ms")}`,
      ).optional(),
      lateness_p99: duration(
        `This node is degraded while its probes start later than scheduled by more than this, p99 over \`window\` (ms or duration). ${describeDefault(SELF_HEALTH_DEFAULTS.latenessP99Ms, "ms")}`,
      ).optional(),
      window: duration(
        `Sliding window both p99s are taken over (ms or duration, at least 1s). ${describeDefault(SELF_HEALTH_DEFAULTS.windowMs, "ms")}`,
      ).optional(),
      deadline_factor: z
        .number({ error: "must be a number >= 1" })
        .min(1, { error: "must be a number >= 1" })
        .optional()
        .describe(
          `While degraded, probe deadlines are multiplied by this (factor). ${describeDefault(SELF_HEALTH_DEFAULTS.deadlineFactor)}`,
        ),
    }),
  ])
  .describe(
    "Local health awareness: while this node is too slow to trust its own deadlines it stretches them and holds every restart/isolation (remediation_held). false turns it off.",
  );

// ---------------------------------------------------------------- storm guard

export const stormSchema = z
  .union([
    z.literal(false),
    z.strictObject({
      fraction: z
        .number({ error: "must be a number above 0 and at most 1" })
        .gt(0, { error: "must be a number above 0 and at most 1" })
        .max(1, { error: "must be a number above 0 and at most 1" })
        .optional()
        .describe(
          `A storm is on when at least this fraction of the watched peers failed within one interval (fraction). ${describeDefault(STORM_DEFAULTS.fraction)}`,
        ),
      min_peers: z
        .number({ error: "must be an integer >= 1" })
        .int({ error: "must be an integer >= 1" })
        .min(1, { error: "must be an integer >= 1" })
        .optional()
        .describe(
          `...and at least this many peers failed (count). ${describeDefault(STORM_DEFAULTS.minPeers)}`,
        ),
    }),
  ])
  .describe(
    "Storm guard: while many peers fail at once (a shared cause), every restart and isolation is held and one correlated_failure (CRITICAL) names them and what they share. false turns it off.",
  );

// ---------------------------------------------------------------- file

/** The file's structure without the cross-field rules. */
export const configShape = z
  .strictObject({
    node: nodeSchema,
    defaults: defaultsSchema.optional(),
    peers: z.array(peerSchema).optional().describe("Peers this node watches. Default []."),
    peers_from: peersFromSchema.optional(),
    mesh: meshSchema.optional(),
    coordination: coordinationSchema.optional(),
    hosts: z
      .array(fleetHostSchema)
      .optional()
      .describe("Hosts of the fleet with a fence command. Default []."),
    alerts: z.array(alertSchema).optional().describe("Where escalations are sent. Default []."),
    self_health: selfHealthSchema.optional(),
    storm: stormSchema.optional(),
  })
  .describe("watchdog-mesh daemon configuration (wdmesh run --config FILE).");

/** The complete config schema: structure plus the cross-field rules. */
export const configSchema = configShape.superRefine((value, ctx) => {
  for (const issue of crossCheck(value)) {
    ctx.addIssue({
      code: "custom",
      message: issue.message,
      path: issue.path,
      params: issue.hint === undefined ? {} : { hint: issue.hint },
    });
  }
});

/** The config file as written (after ${…} interpolation). */
export type ConfigFile = z.output<typeof configShape>;
