// Turns (sink, action, peer) into the HTTP request for that sink's format.
import { InvalidOptionError } from "../core/errors.js";
import type { EscalationAction, PeerHealth } from "../core/types.js";
import type { PostRequest } from "./deliver.js";
import { formatAlertmanager } from "./format-alertmanager.js";
import { formatGeneric } from "./format-generic.js";
import { formatPagerduty } from "./format-pagerduty.js";
import { withoutTrailingSlash } from "../core/base-url.js";
import { formatSlack } from "./format-slack.js";
import { formatStandard } from "./format-standard.js";
import { standardKey } from "./signature.js";
import type { FormattedAlert } from "./format-types.js";
import type { SinkConfig } from "./sink-config.js";
import { subjectHost, type AlertHosts } from "./alert-identity.js";

export interface RequestContext {
  /** Send time, epoch ms (webhook timestamp and signature). */
  nowMs: number;
  /** Alertmanager: incident start, RFC 3339 (startsAt). */
  startsAt?: string;
  /** Alertmanager: link to this node. */
  generatorURL?: string;
  /** Where this node and its peers run, for the alert identity (label host, dedup_key). Default: the machine's host name. */
  hosts?: AlertHosts;
}

/** Alertmanager's alerts endpoint under a base URL (with or without a trailing slash). */
export function alertmanagerEndpoint(baseUrl: string): string {
  return `${withoutTrailingSlash(baseUrl)}/api/v2/alerts`;
}

/** Throws InvalidOptionError (naming the sink) for a sink that cannot be sent to. */
export function validateSink(sink: SinkConfig): void {
  const field = `alerts.${sink.name}`;
  try {
    const u = new URL(sink.url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
  } catch {
    throw new InvalidOptionError(`${field}.url`, "must be an http(s) URL");
  }
  if (!(sink.timeoutMs > 0))
    throw new InvalidOptionError(`${field}.timeout`, `must be > 0 ms, got ${sink.timeoutMs}`);
  if (!(sink.maxAgeMs > 0))
    throw new InvalidOptionError(`${field}.max_age`, `must be > 0 ms, got ${sink.maxAgeMs}`);
  const pd = sink.kind === "pagerduty" || (sink.kind === "webhook" && sink.format === "pagerduty");
  if (pd && !("routingKey" in sink && sink.routingKey)) {
    throw new InvalidOptionError(
      `${field}.routing_key`,
      "is required for PagerDuty (the integration's routing key)",
    );
  }
  if (sink.kind === "webhook" && sink.format === "standard") {
    const key = standardKey(sink.secret ?? "");
    if (!Buffer.isBuffer(key)) throw new InvalidOptionError(`${field}.secret`, key.error);
  }
  if (sink.kind === "alertmanager" && !(sink.resendIntervalMs > 0)) {
    throw new InvalidOptionError(`${field}.resend_interval`, `must be > 0 ms, got ${sink.resendIntervalMs}`);
  }
}

function format(
  sink: SinkConfig,
  action: EscalationAction,
  peer: PeerHealth,
  ctx: RequestContext,
): FormattedAlert {
  const host = subjectHost(action, ctx.hosts);
  switch (sink.kind) {
    case "alertmanager":
      return formatAlertmanager(action, peer, {
        ...(ctx.startsAt ? { startsAt: ctx.startsAt } : {}),
        ...(ctx.generatorURL ? { generatorURL: ctx.generatorURL } : {}),
        ...(host !== undefined ? { host } : {}),
      });
    case "slack":
      return formatSlack(action);
    case "pagerduty":
      return formatPagerduty(action, peer, sink.routingKey, host);
    case "webhook":
      if (sink.format === "slack") return formatSlack(action);
      if (sink.format === "pagerduty") return formatPagerduty(action, peer, sink.routingKey ?? "", host);
      if (sink.format === "standard") {
        return formatStandard(action, peer, {
          secret: sink.secret ?? "",
          nowSec: Math.floor(ctx.nowMs / 1000),
        });
      }
      return formatGeneric(action, peer, {
        nowSec: Math.floor(ctx.nowMs / 1000),
        ...(sink.secret !== undefined ? { secret: sink.secret } : {}),
      });
  }
}

export function buildRequest(
  sink: SinkConfig,
  action: EscalationAction,
  peer: PeerHealth,
  ctx: RequestContext,
): PostRequest {
  const f = format(sink, action, peer, ctx);
  const url = sink.kind === "alertmanager" ? alertmanagerEndpoint(sink.url) : sink.url;
  // The format's own headers (Content-Type, signature) win over configured extras.
  return { url, headers: { ...sink.headers, ...f.headers }, body: f.body };
}
