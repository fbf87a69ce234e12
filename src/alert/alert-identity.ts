// One naming scheme for every alert the product raises, shared by the Alertmanager sink and
// the shipped Prometheus rules (examples/prometheus/rules.yml; a test checks they agree), and
// the identity that makes several watchers of one incident produce one notification.
//
// Identity: an alert about a peer is named for what is wrong with it and labelled with the
// peer and its host, never with the node that reports it. Every node that sees the same peer
// fail sends the same label set, so Alertmanager (one instance or a cluster) holds one alert
// and notifies once; PagerDuty gets the same dedup_key from every node, so one incident. An
// alert about a node itself (overload, a refused config) names the node, and is never a
// "peer down". An alert about a fleet host that lost its last node names that host alone.
import { hostname } from "node:os";
import type { ActionKind, EscalationAction, Severity } from "../core/types.js";

/** Label value of each severity (lower-case, as in the shipped rules). */
export type SeverityLabel = "info" | "medium" | "high" | "critical";

/** What an alert is about: a peer (labels peer + host), the reporting node (node + host) or a fleet host (host). */
export type AlertSubject = "peer" | "node" | "host";

export interface AlertName {
  /** What it is about: a peer (labels peer + host), the reporting node (labels node + host) or a fleet host (label host). */
  subject: AlertSubject;
  severity: SeverityLabel;
  /** Who raises it: the nodes' sinks, the Prometheus rules, or both. */
  raisedBy: "sink" | "rules" | "both";
  meaning: string;
}

/** Every alert name, once. */
export const ALERT_NAMES = {
  WdmeshPeerDegraded: {
    subject: "peer",
    severity: "medium",
    raisedBy: "sink",
    meaning: "a peer missed a probe (the first miss of an incident)",
  },
  WdmeshPeerDown: {
    subject: "peer",
    severity: "high",
    raisedBy: "both",
    meaning: "a peer missed missed_before_restart probes: restarted, or OFFLINE when only watched",
  },
  WdmeshRemediationHeld: {
    subject: "peer",
    severity: "high",
    raisedBy: "sink",
    meaning: "a peer is failing but the node holds the step (no quorum, overloaded)",
  },
  WdmeshRemediationStalled: {
    subject: "peer",
    severity: "high",
    raisedBy: "sink",
    meaning: "a step left to another node did not finish in time; the peer is still failing",
  },
  WdmeshPeerIsolated: {
    subject: "peer",
    severity: "critical",
    raisedBy: "both",
    meaning: "restarts did not help: the peer is cut off until an operator releases it",
  },
  WdmeshNodeOverloaded: {
    subject: "node",
    severity: "high",
    raisedBy: "both",
    meaning: "the node cannot keep its probe schedule and holds remediation",
  },
  WdmeshConfigReloadFailed: {
    subject: "node",
    severity: "high",
    raisedBy: "both",
    meaning: "a config reload was refused; the node runs the previous config",
  },
  WdmeshStoreFailing: {
    subject: "node",
    severity: "critical",
    raisedBy: "both",
    meaning: "the node's state store cannot commit (a full or read-only data_dir); every step is held",
  },
  WdmeshCorrelatedFailure: {
    subject: "node",
    severity: "critical",
    raisedBy: "sink",
    meaning: "many watched peers failed at once (a shared cause is likely); restarts and isolations are held",
  },
  WdmeshNodeBlind: {
    subject: "node",
    severity: "high",
    raisedBy: "sink",
    meaning: "most of the node's checks are inconclusive (its own trouble); it cannot see its peers",
  },
  WdmeshClockSkew: {
    subject: "node",
    severity: "high",
    raisedBy: "sink",
    meaning:
      "a member's clock is more than 30 s off this node's; the reason names it and by how much (fix NTP)",
  },
  WdmeshHostUnreachable: {
    subject: "host",
    severity: "critical",
    raisedBy: "sink",
    meaning: "a fleet host lost its last live node (every lease on it expired); its fence ran if it has one",
  },
  WdmeshOutboxDeadLetters: {
    subject: "node",
    severity: "medium",
    raisedBy: "rules",
    meaning: "alerts to a sink were given up",
  },
  WdmeshMeshMemberMissing: {
    subject: "node",
    severity: "high",
    raisedBy: "rules",
    meaning: "a mesh member does not answer its authenticated heartbeat",
  },
  WdmeshNodeDown: {
    subject: "node",
    severity: "critical",
    raisedBy: "rules",
    meaning: "Prometheus cannot scrape a node",
  },
} as const satisfies Record<string, AlertName>;

export type AlertNameKey = keyof typeof ALERT_NAMES;

/** The alerts an incident about a peer can hold open (all resolved when it closes). */
export const PEER_ALERTS: readonly AlertNameKey[] = [
  "WdmeshPeerDegraded",
  "WdmeshPeerDown",
  "WdmeshRemediationHeld",
  "WdmeshRemediationStalled",
  "WdmeshPeerIsolated",
];

/** What one action does to the alerts: fire one, resolve some, or neither. */
export interface AlertEffect {
  fire?: AlertNameKey;
  resolve: readonly AlertNameKey[];
  subject: AlertSubject;
}

/**
 * Conditions of the node (or of a fleet host) that one action opens and another closes:
 * [the action that fires it, the action that resolves it, the alert, its subject].
 */
const CONDITIONS: ReadonlyArray<readonly [ActionKind, ActionKind, AlertNameKey, AlertSubject]> = [
  ["self_degraded", "self_recovered", "WdmeshNodeOverloaded", "node"],
  ["config_reload_failed", "config_reloaded", "WdmeshConfigReloadFailed", "node"],
  ["store_failed", "store_recovered", "WdmeshStoreFailing", "node"],
  ["correlated_failure", "correlated_failure_cleared", "WdmeshCorrelatedFailure", "node"],
  ["node_blind", "node_blind_cleared", "WdmeshNodeBlind", "node"],
  ["clock_skew", "clock_skew_cleared", "WdmeshClockSkew", "node"],
  ["host_unreachable", "host_reachable", "WdmeshHostUnreachable", "host"],
];
const FIRED_BY = new Map(CONDITIONS.map(([fire, , alert, subject]) => [fire as string, { alert, subject }]));
const RESOLVED_BY = new Map(
  CONDITIONS.map(([, resolve, alert, subject]) => [resolve as string, { alert, subject }]),
);

/** Events about a peer that fire nothing of their own (they belong to the peer's incident). */
const PEER_EVENTS: ReadonlySet<string> = new Set<ActionKind>([
  "remediation_observed",
  "dependency_failing",
  "step_fenced",
]);

/**
 * The alert effect of an action. Node-level actions name the node; a successful reload
 * resolves a refused one and fires nothing (it is an event, not a condition).
 */
export function alertEffect(kind: ActionKind | string, severity: Severity): AlertEffect {
  switch (kind) {
    case "alert":
      return {
        fire: severity === "MEDIUM" ? "WdmeshPeerDegraded" : "WdmeshPeerDown",
        resolve: [],
        subject: "peer",
      };
    case "restart":
      return { fire: "WdmeshPeerDown", resolve: [], subject: "peer" };
    case "remediation_held":
      return { fire: "WdmeshRemediationHeld", resolve: [], subject: "peer" };
    case "isolate":
    case "alert_architect":
      return { fire: "WdmeshPeerIsolated", resolve: [], subject: "peer" };
    case "recovered":
    case "release":
      return { resolve: PEER_ALERTS, subject: "peer" };
    case "remediation_stalled":
      return { fire: "WdmeshRemediationStalled", resolve: [], subject: "peer" };
    case "fence":
      // The fence of an unreachable host: the same condition, sent again with its result.
      return { fire: "WdmeshHostUnreachable", resolve: [], subject: "host" };
    default: {
      const fired = FIRED_BY.get(kind);
      if (fired) return { fire: fired.alert, resolve: [], subject: fired.subject };
      const resolved = RESOLVED_BY.get(kind);
      if (resolved) return { resolve: [resolved.alert], subject: resolved.subject };
      if (PEER_EVENTS.has(kind)) return { resolve: [], subject: "peer" };
      // A kind this table does not know yet: an event about the node, never a peer alert.
      return { resolve: [], subject: "node" };
    }
  }
}

/**
 * This node's host: the configured one when there is one, else the machine's host name.
 * Every identity below goes through it, so a fleet config can set it in one place.
 */
export function alertHost(configured?: string): string {
  return configured !== undefined && configured !== "" ? configured : hostname();
}

/**
 * Where this node and its peers run (config node.host and peers[].host), asked at each send
 * so that a reload applies.
 */
export interface AlertHosts {
  /** This node's host. */
  self(): string;
  /** The host a peer runs on, when it names one (else it runs on this node's host). */
  peer(name: string): string | undefined;
}

/**
 * The `host` of an action's alerts: the peer's own host for an alert about a peer (so nodes
 * on other hosts that watch it send the same identity), this node's host for the node itself.
 * Undefined without `hosts`: the machine's host name (alertHost()).
 */
export function subjectHost(action: EscalationAction, hosts: AlertHosts | undefined): string | undefined {
  const { subject } = alertEffect(action.action, action.severity);
  if (subject === "host") return action.peer_name;
  if (!hosts) return undefined;
  return (subject === "peer" ? hosts.peer(action.peer_name) : undefined) ?? hosts.self();
}

/** The subject of an action's alerts: the peer, the fleet host (both in peer_name), or the node itself. */
export function alertSubject(action: EscalationAction): { subject: AlertSubject; name: string } {
  const { subject } = alertEffect(action.action, action.severity);
  return { subject, name: subject === "node" ? action.node : action.peer_name };
}

/** Labels of one alert: the same on every node that reports it. */
export function alertLabels(name: AlertNameKey, subjectName: string, host: string): Record<string, string> {
  const def: AlertName = ALERT_NAMES[name];
  // A fleet host is its own subject: its label host is that host, whoever reports it.
  if (def.subject === "host") return { alertname: name, host: subjectName, severity: def.severity };
  return {
    alertname: name,
    [def.subject]: subjectName,
    host,
    severity: def.severity,
  };
}

/**
 * PagerDuty's dedup_key (and any receiver's incident key): the same from every node for one
 * open incident of one subject on one host. An action outside an incident (an operator's
 * restart) keeps its own key (its id).
 */
export function incidentKey(action: EscalationAction, host: string): string {
  const effect = alertEffect(action.action, action.severity);
  if (effect.subject === "peer") {
    return action.incident_id === null ? action.id : `wdmesh/${host}/peer/${action.peer_name}`;
  }
  if (effect.subject === "host") return `wdmesh/${action.peer_name}/host`;
  return `wdmesh/${host}/node/${action.node}/${effect.fire ?? effect.resolve[0] ?? action.action}`;
}
