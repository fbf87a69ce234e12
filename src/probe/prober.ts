// The probing interface. A probe never throws: every failure is a miss with a precise
// `error` ("connection refused", "timeout after 5000 ms", "status 503 (expected 200)").
import type { ProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";

export interface Prober {
  /** Probes once within `timeoutMs` (one deadline for connect + headers + body). */
  probe(spec: ProbeSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult>;
  /** Closes pooled connections. Idempotent. */
  close(): Promise<void>;
}
