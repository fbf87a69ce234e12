// One readable line describing an action, shared by the Slack, PagerDuty and Alertmanager
// formatters: "[HIGH] restart sidecar on immune: 3 missed heartbeats — result: ok (…)".
import type { ActionResult, EscalationAction } from "../core/types.js";

export function describeResult(result: ActionResult | undefined): string | null {
  if (result === undefined) return null;
  if (result.ok) return result.detail ? `ok (${result.detail})` : "ok";
  return `failed: ${result.error ?? "unknown error"}`;
}

export function summaryLine(action: EscalationAction): string {
  const result = describeResult(action.result);
  const base = `[${action.severity}] ${action.action} ${action.peer_name} on ${action.node}: ${action.reason}`;
  return result === null ? base : `${base} — result: ${result}`;
}
