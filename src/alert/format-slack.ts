// Slack incoming webhook: {"text": "<one readable line>"}.
import type { EscalationAction } from "../core/types.js";
import type { FormattedAlert } from "./format-types.js";
import { summaryLine } from "./format-summary.js";

export function formatSlack(action: EscalationAction): FormattedAlert {
  return {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: summaryLine(action) }),
  };
}
