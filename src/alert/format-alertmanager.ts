// Alertmanager API v2 (POST {url}/api/v2/alerts, a JSON array of alerts).
//
// Names and labels come from alert-identity.ts: alertname (WdmeshPeerDegraded,
// WdmeshPeerDown, WdmeshRemediationHeld, WdmeshPeerIsolated for a peer; WdmeshNodeOverloaded,
// WdmeshConfigReloadFailed for the node itself), peer or node, host, severity. The reporting
// node is an annotation, not a label, so every node that reports one incident sends the same
// alert and Alertmanager (or an Alertmanager cluster) notifies once. An incident's alerts stay
// firing until it closes (recovered / release resolve them all): a node that has not
// escalated yet cannot re-fire what another node resolved. Resolving an alert Alertmanager
// never saw is harmless: it is stored as resolved and never notified.
import type { EscalationAction, PeerHealth } from "../core/types.js";
import type { FormattedAlert } from "./format-types.js";
import { describeResult, summaryLine } from "./format-summary.js";
import { alertEffect, alertHost, alertLabels, alertSubject, type AlertNameKey } from "./alert-identity.js";

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
  /** This node's host (label `host`). Default: the machine's host name. */
  host?: string;
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
    reported_by: action.node,
  };
  if (action.incident_id !== null) out["incident_id"] = action.incident_id;
  if (action.journal) out["journal_head"] = `seq ${action.journal.seq} hash ${action.journal.hash}`;
  return out;
}

/** The alerts to POST for one action (a firing alert, and/or resolutions; none for a bare event). */
export function alertmanagerAlerts(
  action: EscalationAction,
  peer: PeerHealth,
  opts: AlertmanagerOptions = {},
): AmAlert[] {
  const startsAt = opts.startsAt ?? action.timestamp;
  const gen = opts.generatorURL ? { generatorURL: opts.generatorURL } : {};
  const host = alertHost(opts.host);
  const { name } = alertSubject(action);
  const effect = alertEffect(action.action, action.severity);
  const notes = annotations(action, peer);
  const resolveAt = action.timestamp;
  // Alertmanager rejects endsAt before startsAt.
  const resolvedStart = Date.parse(startsAt) <= Date.parse(resolveAt) ? startsAt : resolveAt;
  const resolved = (alert: AlertNameKey): AmAlert => ({
    labels: alertLabels(alert, name, host),
    annotations: notes,
    startsAt: resolvedStart,
    endsAt: resolveAt,
    ...gen,
  });
  const out = effect.resolve.map(resolved);
  if (effect.fire !== undefined) {
    out.unshift({ labels: alertLabels(effect.fire, name, host), annotations: notes, startsAt, ...gen });
  }
  return out;
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
