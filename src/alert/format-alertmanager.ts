// Alertmanager API v2 (POST {url}/api/v2/alerts, a JSON array of alerts).
//
// Labels: alertname=WatchdogPeerDown, peer, node, severity (lower-case: info, medium, high,
// critical). Alertmanager identifies an alert by its label set, so the severity label makes
// every step of an incident a distinct alert; to keep exactly one active alert per peer we
// resolve the lower severities whenever an incident escalates, and resolve every severity
// when the incident closes (recovered / release). Resolving an alert Alertmanager never saw
// is harmless: it is stored as resolved and never notified.
import type { EscalationAction, PeerHealth, Severity } from "../core/types.js";
import { SEVERITY_RANK } from "../core/types.js";
import type { FormattedAlert } from "./format-types.js";
import { RESOLVING_ACTIONS } from "./format-types.js";
import { describeResult, summaryLine } from "./format-summary.js";

export const ALERTNAME = "WatchdogPeerDown";

/** Severities an incident can fire at (INFO actions only ever resolve). */
const FIRING_SEVERITIES: readonly Severity[] = ["MEDIUM", "HIGH", "CRITICAL"];

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerOptions {
  /** When the incident started, RFC 3339 (startsAt). Default: the action's timestamp. */
  startsAt?: string;
  /** Link shown in Alertmanager, e.g. this node's dashboard. Optional. */
  generatorURL?: string;
}

export function amLabels(peerName: string, node: string, severity: Severity): Record<string, string> {
  return { alertname: ALERTNAME, peer: peerName, node, severity: severity.toLowerCase() };
}

function annotations(action: EscalationAction, peer: PeerHealth): Record<string, string> {
  const result = describeResult(action.result);
  const description =
    `${action.action} of ${action.peer_name} by ${action.node}: ${action.reason}.` +
    ` Peer status ${peer.status}, missed ${peer.missed_count}, restarts ${peer.restart_count}` +
    (peer.last_error ? `, last error: ${peer.last_error}` : "") +
    (result === null ? "." : `. Result: ${result}.`);
  const out: Record<string, string> = {
    summary: summaryLine(action),
    description,
    action: action.action,
    action_id: action.id,
  };
  if (action.incident_id !== null) out["incident_id"] = action.incident_id;
  return out;
}

/** The alerts to POST for one action (a firing alert, and/or resolutions). */
export function alertmanagerAlerts(
  action: EscalationAction,
  peer: PeerHealth,
  opts: AlertmanagerOptions = {},
): AmAlert[] {
  const startsAt = opts.startsAt ?? action.timestamp;
  const gen = opts.generatorURL ? { generatorURL: opts.generatorURL } : {};
  const notes = annotations(action, peer);
  const resolveAt = action.timestamp;
  // Alertmanager rejects endsAt before startsAt.
  const resolvedStart = Date.parse(startsAt) <= Date.parse(resolveAt) ? startsAt : resolveAt;
  const resolved = (severity: Severity): AmAlert => ({
    labels: amLabels(action.peer_name, action.node, severity),
    annotations: notes,
    startsAt: resolvedStart,
    endsAt: resolveAt,
    ...gen,
  });

  if (RESOLVING_ACTIONS.has(action.action)) return FIRING_SEVERITIES.map(resolved);

  const firing: AmAlert = {
    labels: amLabels(action.peer_name, action.node, action.severity),
    annotations: notes,
    startsAt,
    ...gen,
  };
  const lower = FIRING_SEVERITIES.filter((s) => SEVERITY_RANK[s] < SEVERITY_RANK[action.severity]);
  return [firing, ...lower.map(resolved)];
}

export function formatAlertmanager(
  action: EscalationAction,
  peer: PeerHealth,
  opts: AlertmanagerOptions = {},
): FormattedAlert {
  return {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(alertmanagerAlerts(action, peer, opts)),
  };
}
