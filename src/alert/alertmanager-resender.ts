// Alertmanager forgets a firing alert that is not re-sent within its resolve_timeout
// (default 5 min). While an incident is open, its latest alert is re-POSTed every
// `resendIntervalMs`. The sink's worker calls this only when it has no pending rows, from
// its own loop, so a re-send can never overtake the row that resolves the incident: the
// resolution (endsAt) is an ordinary outbox row, delivered after any re-send.
import { SEVERITY_RANK, type PeerHealth } from "../core/types.js";
import { iso } from "../core/duration.js";
import { initialState } from "../core/ladder.js";
import { toPeerHealth } from "../core/peer-health.js";
import type { OutboxPort } from "../store/types.js";
import type { DeliveryOutcome, PostRequest } from "./deliver.js";
import { RESOLVING_ACTIONS } from "./format-types.js";
import { buildRequest } from "./sink-request.js";
import type { AlertHosts } from "./alert-identity.js";
import type { SinkConfig } from "./sink-config.js";

type AmSink = Extract<SinkConfig, { kind: "alertmanager" }>;

/** Placeholder peer for an incident whose snapshot this process has not seen (after a restart). */
function unknownPeer(name: string, incidentId: string): PeerHealth {
  return { ...toPeerHealth(name, "", initialState(), null), incident_id: incidentId };
}

export class AlertmanagerResender {
  private lastResendAt: number;
  /** Latest PeerHealth delivered per incident, for the re-sent annotations. */
  private readonly snapshots = new Map<string, PeerHealth>();
  resent = 0;
  lastError: string | null = null;

  constructor(
    private readonly sink: AmSink,
    private readonly outbox: OutboxPort,
    now: number,
    private readonly generatorURL?: string,
    private readonly hosts?: AlertHosts,
  ) {
    this.lastResendAt = now;
  }

  /** Remember what was last delivered for an incident. */
  noteDelivered(incidentId: string | null, peer: PeerHealth): void {
    if (incidentId !== null) this.snapshots.set(incidentId, peer);
  }

  /** ms until the next re-send is due (<= 0: due now). */
  dueIn(now: number): number {
    return this.lastResendAt + this.sink.resendIntervalMs - now;
  }

  /** The request re-asserting every open incident at or above the sink's min severity, or null. */
  buildResend(now: number): PostRequest | null {
    const open = this.outbox
      .openIncidents()
      .filter(
        (i) =>
          !RESOLVING_ACTIONS.has(i.last_action.action) &&
          SEVERITY_RANK[i.last_action.severity] >= SEVERITY_RANK[this.sink.minSeverity],
      );
    const live = new Set(open.map((i) => i.incident_id));
    for (const id of this.snapshots.keys()) if (!live.has(id)) this.snapshots.delete(id);
    if (open.length === 0) return null;
    const alerts: unknown[] = [];
    let headers: Record<string, string> = {};
    let url = "";
    for (const inc of open) {
      const peer = this.snapshots.get(inc.incident_id) ?? unknownPeer(inc.peer, inc.incident_id);
      const req = buildRequest(this.sink, inc.last_action, peer, {
        nowMs: now,
        startsAt: iso(inc.opened_at) ?? inc.last_action.timestamp,
        ...(this.generatorURL ? { generatorURL: this.generatorURL } : {}),
        ...(this.hosts ? { hosts: this.hosts } : {}),
      });
      alerts.push(...(JSON.parse(req.body) as unknown[]));
      headers = req.headers;
      url = req.url;
    }
    return { url, headers, body: JSON.stringify(alerts) };
  }

  /** Re-sends now with `send`; a failure is remembered and tried again next interval. */
  async resend(
    now: number,
    send: (req: PostRequest) => Promise<DeliveryOutcome>,
  ): Promise<DeliveryOutcome | null> {
    this.lastResendAt = now;
    const req = this.buildResend(now);
    if (req === null) return null;
    const out = await send(req);
    if (out.kind === "delivered") {
      this.resent++;
      this.lastError = null;
    } else if (out.kind !== "aborted") {
      this.lastError = out.error;
    }
    return out;
  }
}
