// Standard Webhooks (standardwebhooks.com): the generic JSON body, signed the standard
// way so receivers can verify it with any Standard Webhooks library:
// webhook-id = action id (receivers dedupe on it), webhook-timestamp = unix seconds,
// webhook-signature = "v1,<base64 HMAC-SHA256>".
import type { EscalationAction, PeerHealth } from "../core/types.js";
import { genericPayload } from "./format-generic.js";
import type { FormattedAlert } from "./format-types.js";
import {
  STANDARD_ID_HEADER,
  STANDARD_SIGNATURE_HEADER,
  STANDARD_TIMESTAMP_HEADER,
  signStandard,
} from "./signature.js";

export function formatStandard(
  action: EscalationAction,
  peer: PeerHealth,
  opts: { secret: string; nowSec: number },
): FormattedAlert {
  const body = JSON.stringify(genericPayload(action, peer));
  return {
    headers: {
      "Content-Type": "application/json",
      [STANDARD_ID_HEADER]: action.id,
      [STANDARD_TIMESTAMP_HEADER]: String(opts.nowSec),
      [STANDARD_SIGNATURE_HEADER]: signStandard(opts.secret, action.id, opts.nowSec, body),
    },
    body,
  };
}
