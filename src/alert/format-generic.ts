// Generic webhook (format: generic, the default): body = EscalationAction + "version":"1" + "peer" (PeerHealth at
// that moment); Idempotency-Key = action id; signed when the sink has a secret.
import type { EscalationAction, PeerHealth } from "../core/types.js";
import type { FormattedAlert } from "./format-types.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signPayload } from "./signature.js";

export interface GenericOptions {
  /** HMAC-SHA256 secret; without it no X-Wdmesh-Signature header is sent. */
  secret?: string;
  /** Send time, unix seconds (X-Wdmesh-Timestamp, and what the signature covers). */
  nowSec: number;
}

/** The JSON document of a generic webhook, as an object. */
export function genericPayload(action: EscalationAction, peer: PeerHealth): Record<string, unknown> {
  return { ...action, version: "1", peer };
}

export function formatGeneric(
  action: EscalationAction,
  peer: PeerHealth,
  opts: GenericOptions,
): FormattedAlert {
  const body = JSON.stringify(genericPayload(action, peer));
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Idempotency-Key": action.id,
    [TIMESTAMP_HEADER]: String(opts.nowSec),
  };
  if (opts.secret !== undefined && opts.secret !== "") {
    headers[SIGNATURE_HEADER] = signPayload(opts.secret, opts.nowSec, body);
  }
  return { headers, body };
}
