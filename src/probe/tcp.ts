// TCP probe: alive when a connection to host:port is established within the deadline.
// The connection is closed right away; nothing is written.
import { connect, type Socket } from "node:net";
import type { TcpProbeSpec } from "../core/options.js";
import type { ProbeCause, ProbeResult } from "../core/types.js";
import { describeNetError, localCause, timeoutError } from "./errors.js";

/** TCP connect probe. Never throws, never rejects. */
export function probeTcp(spec: TcpProbeSpec, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const start = performance.now();
  const took = (): number => Math.round((performance.now() - start) * 100) / 100;
  if (typeof spec.host !== "string" || spec.host === "") {
    return Promise.resolve({ ok: false, duration_ms: 0, error: "invalid target: empty host" });
  }
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65_535) {
    return Promise.resolve({
      ok: false,
      duration_ms: 0,
      error: `invalid target: port ${spec.port} is not 1..65535`,
    });
  }
  if (signal?.aborted) return Promise.resolve({ ok: false, duration_ms: 0, error: "aborted" });
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let socket: Socket | null = null;
    const finish = (error?: string, cause?: ProbeCause): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket?.destroy();
      resolve(
        error === undefined
          ? { ok: true, duration_ms: took() }
          : { ok: false, duration_ms: took(), error, ...(cause ? { cause } : {}) },
      );
    };
    const onAbort = (): void => finish("aborted");
    const timer = setTimeout(() => finish(timeoutError(timeoutMs, "connect")), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      socket = connect({ host: spec.host, port: spec.port });
    } catch (err) {
      finish(describeNetError(err, spec.host, "connect", timeoutMs), localCause(err));
      return;
    }
    socket.once("connect", () => finish());
    socket.once("error", (err) =>
      finish(describeNetError(err, spec.host, "connect", timeoutMs), localCause(err)),
    );
  });
}
