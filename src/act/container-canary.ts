// Proof that a container's former address is really cut off: a TCP connection from this
// node to it. Any answer — accepted or refused (a RST comes from a live stack) — means
// the address still answers; a timeout or "unreachable" means nothing answers there.
// The same probe before the cut is the control: if the address did not answer even
// then, the canary after the cut proves nothing, and the result says so.
import { connect } from "node:net";

export type CanaryOutcome = "answered" | "silent";

export interface CanaryResult {
  outcome: CanaryOutcome;
  /** What was seen, e.g. "connected", "ECONNREFUSED", "timeout after 1500 ms", "EHOSTUNREACH". */
  seen: string;
}

/** Port tried when the peer's probe names none: 9 (discard), so a live stack answers with a RST. */
export const CANARY_FALLBACK_PORT = 9;

/** One connection attempt to host:port within `timeoutMs`; never throws. */
export function canaryConnect(host: string, port: number, timeoutMs: number): Promise<CanaryResult> {
  return new Promise((resolve) => {
    let done = false;
    const s = connect({ host, port });
    const finish = (r: CanaryResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ outcome: "silent", seen: `timeout after ${timeoutMs} ms` }),
      timeoutMs,
    );
    s.once("connect", () => finish({ outcome: "answered", seen: "connected" }));
    s.once("error", (e: NodeJS.ErrnoException) =>
      finish({
        outcome: e.code === "ECONNREFUSED" || e.code === "ECONNRESET" ? "answered" : "silent",
        seen: e.code ?? e.message,
      }),
    );
  });
}
