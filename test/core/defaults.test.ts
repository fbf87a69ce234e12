// Every default is written once, in core/defaults.ts: the config schema's descriptions
// (and so the published JSON Schema) say what the code really does, and no other file
// of src/ writes a default again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandExecutor } from "../../src/act/command.js";
import { SystemdExecutor } from "../../src/act/systemd.js";
import {
  containerHostModeOf,
  containerRequestTimeoutMs,
  containerSocketOf,
  containerStopTimeoutMs,
  type ContainerIsolateSpec,
  type ContainerRef,
  type ContainerRestartSpec,
} from "../../src/core/container.js";
import { configJsonSchema } from "../../src/config/json-schema.js";
import { parseConfig } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/config/resolve.js";
import * as DEFAULTS from "../../src/core/defaults.js";
import { parseDuration } from "../../src/core/duration.js";
import { SelfHealth } from "../../src/health/self-health.js";
import { stormPolicy } from "../../src/core/storm.js";
import { defaultTakeoverAfterMs } from "../../src/mesh/takeover.js";
import { FakeLoopDelay } from "../helpers/fake-loop-delay.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Every schema node with a description, by its path (peers[].interval, node.listen, ...). */
function describedFields(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (n: unknown, path: string): void => {
    if (typeof n !== "object" || n === null) return;
    const o = n as Record<string, unknown>;
    if (typeof o.description === "string" && path !== "") out.set(path, o.description);
    for (const [k, v] of Object.entries((o.properties as Record<string, unknown>) ?? {}))
      walk(v, path === "" ? k : `${path}.${k}`);
    if (o.items) walk(o.items, `${path}[]`);
    for (const v of (o.anyOf as unknown[]) ?? []) walk(v, path);
  };
  walk(configJsonSchema(), "");
  return out;
}

// A file with every section present and every defaulted field left out.
const MINIMAL = `
node: { name: n1 }
defaults: {}
peers:
  - name: web
    probe: { http: { url: "http://127.0.0.1:1/health" } }
    restart: { systemd: { unit: web.service } }
    isolate: { systemd: { unit: web.service } }
  - name: box
    probe: { container: { name: box } }
    restart: { container: { name: box } }
    isolate: { container: { name: box } }
peers_from: { containers: {} }
mesh: {}
alerts:
  - { name: hook, webhook: { url: "http://127.0.0.1:1/w" }, retry: {} }
  - { name: am, alertmanager: { url: "http://127.0.0.1:1" } }
  - { name: pd, pagerduty: { routing_key: rk } }
self_health: {}
storm: {}
`;

const timeoutOf = (executor: object): number => (executor as { timeoutMs: number }).timeoutMs;

/** What the code does when the field is left out, per described field. */
function effective(rc: ResolvedConfig): Record<string, unknown> {
  const [web] = rc.peers;
  const [hook, am, pd] = rc.alerts;
  const sh = new SelfHealth(
    new FakeLoopDelay(),
    rc.monitor.selfHealth === false ? {} : rc.monitor.selfHealth,
  );
  const p = rc.monitor.policy;
  const timing = {
    interval: p.intervalMs,
    timeout: p.timeoutMs,
    missed_before_restart: p.missedBeforeRestart,
    restarts_before_isolate: p.restartsBeforeIsolate,
    "restart_backoff.initial": p.backoffInitialMs,
    "restart_backoff.max": p.backoffMaxMs,
    stable_after: p.stableAfterMs,
    success_threshold: p.successThreshold,
  };
  const peerTiming = web?.policy;
  const command = timeoutOf(new CommandExecutor());
  const systemd = timeoutOf(new SystemdExecutor());
  const isolate = web?.isolate as { systemd: { mode: string } };
  return {
    "node.listen": `${rc.node.listen.host}:${rc.node.listen.port}`,
    "node.data_dir": rc.node.dataDir,
    "node.public_reads": rc.node.publicReads,
    "node.max_connections": rc.node.maxConnections,
    ...Object.fromEntries(Object.entries(timing).map(([k, v]) => [`defaults.${k}`, v])),
    "defaults.concurrency": rc.monitor.concurrency,
    ...Object.fromEntries(
      Object.entries({
        interval: peerTiming?.intervalMs,
        timeout: peerTiming?.timeoutMs,
        missed_before_restart: peerTiming?.missedBeforeRestart,
        restarts_before_isolate: peerTiming?.restartsBeforeIsolate,
        "restart_backoff.initial": peerTiming?.backoffInitialMs,
        "restart_backoff.max": peerTiming?.backoffMaxMs,
        stable_after: peerTiming?.stableAfterMs,
        success_threshold: peerTiming?.successThreshold,
      }).map(([k, v]) => [`peers[].${k}`, v]),
    ),
    "peers[].probe.http.expect_status": (web?.probe as { http: { expectStatus: number } }).http.expectStatus,
    "peers[].restart.systemd.timeout": systemd,
    "peers[].restart.command.timeout": command,
    "peers[].isolate.systemd.mode": isolate.systemd.mode,
    "peers[].isolate.systemd.timeout": systemd,
    "peers[].isolate.command.timeout": command,
    "peers[].isolate.release.timeout": command,
    ...containerDefaults(rc),
    "mesh.confirm": rc.mesh?.confirm,
    "alerts[].min_severity": hook?.minSeverity,
    "alerts[].timeout": hook?.timeoutMs,
    "alerts[].max_age": hook?.maxAgeMs,
    "alerts[].retry.initial": hook?.retry?.initialMs,
    "alerts[].retry.max": hook?.retry?.maxMs,
    "alerts[].webhook.format": hook?.kind === "webhook" ? hook.format : undefined,
    "alerts[].alertmanager.resend_interval": am?.kind === "alertmanager" ? am.resendIntervalMs : undefined,
    "alerts[].pagerduty.url": pd?.kind === "pagerduty" ? pd.url : undefined,
    "self_health.loop_delay_p99": sh.loopDelayP99Ms,
    "self_health.lateness_p99": sh.latenessP99Ms,
    "self_health.window": sh.windowMs,
    "self_health.deadline_factor": sh.deadlineFactor,
    "storm.fraction": stormPolicy(rc.monitor.storm === false ? {} : rc.monitor.storm).fraction,
    "storm.min_peers": stormPolicy(rc.monitor.storm === false ? {} : rc.monitor.storm).minPeers,
  };
}

/** The container fields left out in MINIMAL's peer "box" and peers_from, as the code fills them. */
function containerDefaults(rc: ResolvedConfig): Record<string, unknown> {
  const box = rc.peers.find((p) => p.name === "box");
  const probe = (box?.probe as { container: ContainerRef }).container;
  const restart = (box?.restart as { container: ContainerRestartSpec }).container;
  const isolate = (box?.isolate as { container: ContainerIsolateSpec }).container;
  const found = rc.peersFrom?.containers;
  const out: Record<string, unknown> = {
    "peers_from.containers.engine": found?.engine,
    "peers_from.containers.socket": containerSocketOf({ ...(found?.engine ? { engine: found.engine } : {}) }),
    "peers_from.containers.label": found?.label,
    "peers_from.containers.timeout": found?.timeoutMs,
    "peers[].isolate.container.host_mode": containerHostModeOf(isolate),
  };
  for (const [key, spec] of Object.entries({ probe, restart, isolate })) {
    out[`peers[].${key}.container.engine`] = spec.engine;
    out[`peers[].${key}.container.socket`] = containerSocketOf(spec);
    out[`peers[].${key}.container.timeout`] = containerRequestTimeoutMs(spec);
    if (key !== "probe")
      out[`peers[].${key}.container.stop_timeout`] = containerStopTimeoutMs(spec as ContainerRestartSpec);
  }
  return out;
}

// A fleet's file (coordination replaces mesh, so it is a file of its own).
const MINIMAL_FLEET = `
node: { name: n1 }
coordination: { etcd: { endpoints: ["http://127.0.0.1:1"] } }
`;

function fleetEffective(): Record<string, unknown> {
  const etcd = parseConfig(MINIMAL_FLEET, {}, "fleet.yaml", { baseDir: "/etc/wdmesh" }).fleet.etcd;
  return {
    "coordination.etcd.prefix": etcd?.prefix,
    "coordination.etcd.lease_ttl": etcd?.leaseTtlMs,
    "coordination.etcd.keepalive_interval": etcd?.keepaliveIntervalMs,
    "coordination.etcd.request_timeout": etcd?.requestTimeoutMs,
    // The fence runs through a CommandExecutor with its default deadline (fleet-runtime.ts).
    "hosts[].fence.command.timeout": timeoutOf(new CommandExecutor()),
  };
}

/** The value a description's "Default X." states, read as the field's own type. */
function stated(text: string, actual: unknown): unknown {
  if (typeof actual === "number") {
    return /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text);
  }
  if (typeof actual === "boolean") return text === "true";
  return text;
}

void test("every 'Default X' of the config schema is what the code does when the field is left out", () => {
  const rc = parseConfig(MINIMAL, {}, "minimal.yaml", { baseDir: "/etc/wdmesh" });
  const actual = { ...effective(rc), ...fleetEffective() };
  const checked: string[] = [];
  for (const [path, description] of describedFields()) {
    // "Default = interval", "Default []" and "Default: ..." state no value of their own.
    const m = /\bDefault ([^\s=[:][^\s]*?)\.?(?:\s|$)/.exec(description);
    if (!m) continue;
    assert.ok(path in actual, `${path} states a default ("${m[0].trim()}"): add it to this test's table`);
    const value = actual[path];
    assert.deepEqual(stated(m[1] as string, value), value, `${path}: the description says "${m[0].trim()}"`);
    checked.push(path);
  }
  // The table has no entry the schema does not describe: both move together.
  assert.deepEqual(Object.keys(actual).sort(), checked.sort());
});

void test("mesh.takeover_after's description names the restart timeout the code adds an interval to", () => {
  const description = describedFields().get("mesh.takeover_after") ?? "";
  const m = /restart timeout \((\S+) unless set\)/.exec(description);
  assert.ok(m, description);
  const interval = 1_000;
  const stated = parseDuration(m[1] as string);
  for (const restart of [{ systemd: { unit: "web.service" } }, { command: { argv: ["/bin/true"] } }]) {
    assert.equal(defaultTakeoverAfterMs({ restart }, interval), stated + interval, JSON.stringify(restart));
  }
});

// ---------------------------------------------------------------- written once

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The code of a file without its comments (defaults written in prose are checked above). */
function code(path: string): string {
  return readFileSync(path, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

const HOME = join(SRC, "core/defaults.ts");
const files = sources(SRC).filter((f) => f !== HOME);

void test("no file of src/ but core/defaults.ts falls back to a literal number (a default written again)", () => {
  const found: string[] = [];
  for (const f of files) {
    code(f)
      .split("\n")
      .forEach((line, i) => {
        // `?? 0`, `?? 1` and `?? -1` are neutral fallbacks, not defaults.
        const m = /\?\?\s*(-?[\d][\d_]*(?:\.\d+)?)\b/.exec(line);
        if (m && ![0, 1, -1].includes(Number((m[1] as string).replace(/_/g, ""))))
          found.push(`${relative(SRC, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

void test("no parameter of src/ but in core/defaults.ts defaults to a literal number", () => {
  // `(max = 200)`, `private readonly retainMs = 60_000,`; 0, 1 and -1 are neutral starts, not defaults.
  const param =
    /(?:^|[(,])[ \t]*(?:private readonly |readonly |private )?(\w+)[ \t]*(?::[ \t]*[\w<>[\] |]+)?[ \t]*=[ \t]*(-?\d[\d_]*)[ \t]*[,)]/gm;
  const found: string[] = [];
  for (const f of files) {
    for (const m of code(f).matchAll(param)) {
      if (!["0", "1", "-1"].includes(m[2] as string)) found.push(`${relative(SRC, f)}: ${m[1]} = ${m[2]}`);
    }
  }
  assert.deepEqual(found, []);
});

void test("no file of src/ but core/defaults.ts writes a DEFAULT constant with a literal value", () => {
  const found: string[] = [];
  // A constant named for a default whose value is a literal, or an object of literals.
  const literal = /\bconst\s+(\w*DEFAULTS?\w*)\s*(?::[^=]+)?=\s*(?:[-\d"']|\{\s*\w+:\s*[-\d"'`])/g;
  for (const f of files) {
    for (const m of code(f).matchAll(literal)) found.push(`${relative(SRC, f)}: ${m[1]}`);
  }
  assert.deepEqual(found, []);
});

void test("the default strings and the default numbers of the config appear in no other file of src/", () => {
  const strings = [
    DEFAULTS.NODE_DEFAULTS.listen,
    DEFAULTS.NODE_DEFAULTS.dataDir,
    DEFAULTS.SINK_DEFAULTS.pagerdutyUrl,
  ];
  const fallbacks = [
    DEFAULTS.MESH_DEFAULTS.confirm,
    DEFAULTS.ACTION_DEFAULTS.isolateMode,
    DEFAULTS.SINK_DEFAULTS.minSeverity,
    DEFAULTS.SINK_DEFAULTS.webhookFormat,
  ];
  const found: string[] = [];
  for (const f of files) {
    code(f)
      .split("\n")
      .forEach((line, i) => {
        const where = `${relative(SRC, f)}:${i + 1}: ${line.trim()}`;
        if (strings.some((s) => line.includes(s))) found.push(where);
        // A fallback to one of the string defaults (`?? "majority"`) is that default written again.
        if (fallbacks.some((s) => new RegExp(`\\?\\?\\s*["'\`]${s}["'\`]`).test(line))) found.push(where);
      });
  }
  assert.deepEqual(found, []);
});

/**
 * The "Default X" of the `nth` doc comment right above `field?:` in a file of src/, X
 * without spaces or quotes.
 */
function docDefault(file: string, field: string, nth: number): string {
  const text = readFileSync(join(SRC, file), "utf8");
  const re = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*?)\\*/\\s*${field}\\?:`, "g");
  const m = [...text.matchAll(re)][nth];
  assert.ok(m, `${file}: no doc comment number ${nth + 1} above ${field}`);
  const prose = (m[1] as string).replace(/\s*\n\s*\*\s*/g, " ");
  const d = /Default ([^.;,(]+?)(?:[.;,(]\s|\.?\s*$| \(|, )/.exec(prose);
  assert.ok(d, `${file}: the doc comment of ${field} states no default`);
  return (d[1] as string).replace(/[\s"]/g, "");
}

void test("the library's public types state the defaults the code applies", () => {
  const t = DEFAULTS.TIMING_DEFAULTS;
  const ms = (s: string): number => (/^[\d_]+$/.test(s) ? Number(s) : parseDuration(s));
  const cases: Array<[file: string, field: string, value: number | string]> = [
    ["core/options.ts", "interval", t.intervalMs],
    ["core/options.ts", "timeout", t.timeoutMs],
    ["core/options.ts", "missedBeforeRestart", t.missedBeforeRestart],
    ["core/options.ts", "restartsBeforeIsolate", t.restartsBeforeIsolate],
    ["core/options.ts", "stableAfter", t.stableAfterMs],
    ["core/options.ts", "successThreshold", t.successThreshold],
    ["core/options.ts", "expectStatus", DEFAULTS.PROBE_DEFAULTS.expectStatus],
    ["core/options.ts", "timeout", DEFAULTS.ACTION_DEFAULTS.commandTimeoutMs],
    ["monitor-options.ts", "concurrency", DEFAULTS.CONCURRENCY_DEFAULT],
    ["health/self-health.ts", "loopDelayP99Ms", DEFAULTS.SELF_HEALTH_DEFAULTS.loopDelayP99Ms],
    ["health/self-health.ts", "latenessP99Ms", DEFAULTS.SELF_HEALTH_DEFAULTS.latenessP99Ms],
    ["health/self-health.ts", "windowMs", DEFAULTS.SELF_HEALTH_DEFAULTS.windowMs],
    ["health/self-health.ts", "deadlineFactor", DEFAULTS.SELF_HEALTH_DEFAULTS.deadlineFactor],
    ["mesh/mesh-node.ts", "confirm", DEFAULTS.MESH_DEFAULTS.confirm],
  ];
  // `timeout` is documented twice in options.ts (a probe's, then a command's): check both in order.
  const seen = new Map<string, number>();
  for (const [file, field, value] of cases) {
    const key = `${file}:${field}`;
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const text = docDefault(file, field, nth);
    const stated = typeof value === "number" ? ms(text) : text;
    assert.deepEqual(stated, value, `${file} ${field}: its doc comment says "Default ${text}"`);
  }
});
