// PagerDuty Events API v2: trigger for escalations, resolve for recovered/release, one
// PagerDuty incident per watchdog incident: dedup_key is the incident's identity
// (alert-identity.ts: host and peer), the same from every node that reports it.
import type { EscalationAction, PeerHealth, Severity } from "../core/types.js";
import type { FormattedAlert } from "./format-types.js";
import { RESOLVING_ACTIONS } from "./format-types.js";
import { summaryLine } from "./format-summary.js";
import { alertHost, incidentKey } from "./alert-identity.js";

export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, "critical" | "error" | "warning" | "info">> = {
  CRITICAL: "critical",
  HIGH: "error",
  MEDIUM: "warning",
  INFO: "info",
};

/** PagerDuty caps summary at 1024 characters. */
const SUMMARY_MAX = 1024;

export function pagerdutyPayload(
  action: EscalationAction,
  peer: PeerHealth,
  routingKey: string,
  host?: string,
): Record<string, unknown> {
  const resolve = RESOLVING_ACTIONS.has(action.action);
  const node = alertHost(host);
  const event: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: resolve ? "resolve" : "trigger",
    // Every node reporting one incident sends the same key; an action outside an incident
    // (an operator restart) gets its own PagerDuty alert.
    dedup_key: incidentKey(action, node),
  };
  // Events API v2 requires a payload for trigger and ignores it for resolve.
  if (!resolve) {
    event["payload"] = {
      summary: summaryLine(action).slice(0, SUMMARY_MAX),
      source: action.node,
      severity: PAGERDUTY_SEVERITY[action.severity],
      timestamp: action.timestamp,
      component: action.peer_name,
      class: action.action,
      custom_details: {
        id: action.id,
        host: node,
        incident_id: action.incident_id,
        action: action.action,
        reason: action.reason,
        result: action.result ?? null,
        ...(action.journal ? { journal: action.journal } : {}),
        peer,
      },
    };
  }
  return event;
}

export function formatPagerduty(
  action: EscalationAction,
  peer: PeerHealth,
  routingKey: string,
  host?: string,
): FormattedAlert {
  return {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(pagerdutyPayload(action, peer, routingKey, host)),
  };
}
