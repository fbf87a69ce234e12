// One naming scheme for every alert the product raises, shared by the Alertmanager sink and
// the shipped Prometheus rules (examples/prometheus/rules.yml; a test checks they agree), and
// the identity that makes several watchers of one incident produce one notification.
//
// Identity: an alert about a peer is named for what is wrong with it and labelled with the
// peer and its host, never with the node that reports it. Every node that sees the same peer
// fail sends the same label set, so Alertmanager (one instance or a cluster) holds one alert
// and notifies once; PagerDuty gets the same dedup_key from every node, so one incident. An
// alert about a node itself (overload, a refused config) names the node, and is never a
// "peer down".
import { hostname } from "node:os";
import type { ActionKind, EscalationAction, Severity } from "../core/types.js";

/** Label value of each severity (lower-case, as in the shipped rules). */
export type SeverityLabel = "info" | "medium" | "high" | "critical";

export interface AlertName {
  /** What it is about: a peer (labels peer + host) or the reporting node (labels node + host). */
  subject: "peer" | "node";
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
  "WdmeshPeerIsolated",
];

/** What one action does to the alerts: fire one, resolve some, or neither. */
export interface AlertEffect {
  fire?: AlertNameKey;
  resolve: readonly AlertNameKey[];
  subject: "peer" | "node";
}

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
    case "self_degraded":
      return { fire: "WdmeshNodeOverloaded", resolve: [], subject: "node" };
    case "self_recovered":
      return { resolve: ["WdmeshNodeOverloaded"], subject: "node" };
    case "config_reload_failed":
      return { fire: "WdmeshConfigReloadFailed", resolve: [], subject: "node" };
    case "config_reloaded":
      return { resolve: ["WdmeshConfigReloadFailed"], subject: "node" };
    case "store_failed":
      return { fire: "WdmeshStoreFailing", resolve: [], subject: "node" };
    case "store_recovered":
      return { resolve: ["WdmeshStoreFailing"], subject: "node" };
    case "correlated_failure":
      return { fire: "WdmeshCorrelatedFailure", resolve: [], subject: "node" };
    case "correlated_failure_cleared":
      return { resolve: ["WdmeshCorrelatedFailure"], subject: "node" };
    case "node_blind":
      return { fire: "WdmeshNodeBlind", resolve: [], subject: "node" };
    case "node_blind_cleared":
      return { resolve: ["WdmeshNodeBlind"], subject: "node" };
    default:
      // A kind this table does not know yet: an event about the node, never a peer alert.
      return { resolve: [], subject: "node" };
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
  if (!hosts) return undefined;
  const { subject } = alertEffect(action.action, action.severity);
  return (subject === "peer" ? hosts.peer(action.peer_name) : undefined) ?? hosts.self();
}

/** The subject of an action's alerts: the peer, or for node-level actions the node itself. */
export function alertSubject(action: EscalationAction): { subject: "peer" | "node"; name: string } {
  const { subject } = alertEffect(action.action, action.severity);
  return { subject, name: subject === "peer" ? action.peer_name : action.node };
}

/** Labels of one alert: the same on every node that reports it. */
export function alertLabels(name: AlertNameKey, subjectName: string, host: string): Record<string, string> {
  const def: AlertName = ALERT_NAMES[name];
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
  return `wdmesh/${host}/node/${action.node}/${effect.fire ?? effect.resolve[0] ?? action.action}`;
}
