// Resolved alert sink configuration (config/ produces it from the YAML `alerts:` list).
// Durations are ms.
import type { WebhookFormat } from "../core/rules.js";
import type { Severity } from "../core/types.js";

export interface SinkCommon {
  /** Unique sink name (outbox rows are per sink). */
  name: string;
  /** Only actions at or above this severity are sent. Default INFO. */
  minSeverity: Severity;
  /** Per-request deadline, ms. Default 10 000. */
  timeoutMs: number;
  /** Rows older than this are dead-lettered instead of retried, ms. Default 24 h. */
  maxAgeMs: number;
  /** Extra request headers. Values are secrets: never logged. */
  headers: Record<string, string>;
  /**
   * Retry delays of this sink, ms: the first retry waits about `initialMs`, each next one
   * up to twice as long (with jitter), never more than `maxMs`. Default 1 s → 5 min.
   */
  retry?: { initialMs: number; maxMs: number };
}

export type SinkConfig =
  | (SinkCommon & {
      kind: "webhook";
      url: string;
      /** HMAC-SHA256 signing secret (X-Wdmesh-Signature); optional. */
      secret?: string;
      /**
       * generic: the action as JSON, X-Wdmesh-Signature; standard: the same JSON with the
       * Standard Webhooks headers (needs a whsec_ secret); slack: {"text"}; pagerduty: Events API v2.
       */
      format: WebhookFormat;
      /** PagerDuty routing key (format pagerduty). */
      routingKey?: string;
    })
  | (SinkCommon & {
      kind: "alertmanager";
      /** Base URL, e.g. http://127.0.0.1:9093 (POST {url}/api/v2/alerts). */
      url: string;
      /** Re-send firing alerts this often, ms. Default 60 000. */
      resendIntervalMs: number;
    })
  | (SinkCommon & { kind: "slack"; url: string })
  | (SinkCommon & {
      kind: "pagerduty";
      routingKey: string;
      /** Events API v2 endpoint. Default https://events.pagerduty.com/v2/enqueue. */
      url: string;
    });
