// One alert naming scheme: the shipped Prometheus rules and the nodes' Alertmanager sink use
// the names and severities of src/alert/alert-identity.ts, so one condition arrives under one
// name whichever of them raises it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { ALERT_NAMES, type AlertNameKey } from "../../src/alert/alert-identity.js";
import { alertmanagerAlerts } from "../../src/alert/format-alertmanager.js";
import type { ActionKind, EscalationAction, PeerHealth, Severity } from "../../src/core/types.js";

interface Rule {
  alert?: string;
  labels?: Record<string, string>;
}

const rules = (
  parse(readFileSync(new URL("../../examples/prometheus/rules.yml", import.meta.url), "utf8")) as {
    groups: Array<{ rules: Rule[] }>;
  }
).groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

const peer: PeerHealth = {
  name: "sidecar",
  endpoint: "http://127.0.0.1:9770/health",
  status: "OFFLINE",
  last_seen: null,
  missed_count: 3,
  restart_count: 1,
  last_restart: null,
  response_time_ms: 0,
  last_error: null,
  incident_id: "inc-1",
  isolated_at: null,
  silenced_until: null,
  owner: null,
};

/** Every action kind with the severities the ladder and the node emit it at. */
const EMITTED: Array<[ActionKind, Severity]> = [
  ["alert", "MEDIUM"],
  ["alert", "HIGH"],
  ["restart", "HIGH"],
  ["remediation_held", "HIGH"],
  ["isolate", "CRITICAL"],
  ["alert_architect", "CRITICAL"],
  ["recovered", "INFO"],
  ["release", "INFO"],
  ["self_degraded", "HIGH"],
  ["self_recovered", "INFO"],
  ["config_reloaded", "INFO"],
  ["config_reload_failed", "HIGH"],
  ["store_failed", "HIGH"],
  ["store_recovered", "INFO"],
  ["correlated_failure", "CRITICAL"],
  ["correlated_failure_cleared", "INFO"],
  ["node_blind", "HIGH"],
  ["node_blind_cleared", "INFO"],
  ["clock_skew", "HIGH"],
  ["clock_skew_cleared", "INFO"],
  ["remediation_stalled", "HIGH"],
  // A fleet host's events name the host in peer_name.
  ["host_unreachable", "CRITICAL"],
  ["fence", "CRITICAL"],
  ["host_reachable", "INFO"],
];

function sinkAlerts(kind: ActionKind, severity: Severity) {
  const action: EscalationAction = {
    id: "a1",
    timestamp: "2025-01-02T03:04:05.000Z",
    peer_name: "sidecar",
    node: "wd-a",
    action: kind,
    severity,
    reason: "r",
    incident_id: "inc-1",
  } as EscalationAction;
  return alertmanagerAlerts(action, peer, { host: "h1" });
}

void test("every shipped rule is a name of the scheme, with the scheme's severity", () => {
  assert.ok(rules.length >= 5);
  for (const r of rules) {
    const def = ALERT_NAMES[r.alert as AlertNameKey] as (typeof ALERT_NAMES)[AlertNameKey] | undefined;
    assert.ok(def, `rule ${r.alert} is not in ALERT_NAMES (src/alert/alert-identity.ts)`);
    assert.notEqual(def.raisedBy, "sink", `${r.alert} is listed as raised by the sink only`);
    assert.equal(r.labels?.["severity"], def.severity, `severity of rule ${r.alert}`);
  }
  for (const [name, def] of Object.entries(ALERT_NAMES)) {
    if (def.raisedBy === "sink") continue;
    assert.ok(
      rules.some((r) => r.alert === name),
      `${name} is listed as raised by the rules but rules.yml has no such rule`,
    );
  }
});

void test("every alert the sink sends is a name of the scheme, with its severity and subject label", () => {
  const fired = new Set<string>();
  for (const [kind, severity] of EMITTED) {
    const sent = sinkAlerts(kind, severity);
    // Anything above INFO is a condition someone must see: it fires an alert.
    if (severity !== "INFO")
      assert.ok(
        sent.some((a) => a.endsAt === undefined),
        `${kind} (${severity}) fires no alert`,
      );
    for (const a of sent) {
      const name = a.labels["alertname"] as AlertNameKey;
      const def = ALERT_NAMES[name] as (typeof ALERT_NAMES)[AlertNameKey] | undefined;
      assert.ok(def, `${kind} sends ${name}, not in ALERT_NAMES`);
      assert.equal(a.labels["severity"], def.severity, `${kind}: severity of ${name}`);
      if (a.endsAt === undefined) fired.add(name);
      if (def.subject === "host") {
        // The host is the subject, whichever node reports it: no node or peer label.
        assert.deepEqual(
          [a.labels["host"], a.labels["node"], a.labels["peer"]],
          ["sidecar", undefined, undefined],
        );
        continue;
      }
      assert.equal(a.labels["host"], "h1");
      if (def.subject === "peer") assert.equal(a.labels["peer"], "sidecar", `${kind}: ${name}`);
      else assert.deepEqual([a.labels["node"], a.labels["peer"]], ["wd-a", undefined], `${kind}: ${name}`);
    }
  }
  // Every name listed as raised by the sink is raised by some action (no dead entry).
  for (const [name, def] of Object.entries(ALERT_NAMES)) {
    if (def.raisedBy === "rules") continue;
    assert.ok(fired.has(name), `${name} is never fired by the sink`);
  }
  // Names are one scheme: the product's prefix, CamelCase.
  for (const name of Object.keys(ALERT_NAMES)) assert.match(name, /^Wdmesh[A-Z][A-Za-z]+$/);
});
