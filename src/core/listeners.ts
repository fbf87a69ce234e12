// A set of listeners that one misbehaving listener cannot break: a throw or a rejected
// promise is logged, the other listeners still run, and nothing is awaited.
import type { EscalationAction } from "./types.js";
import type { Logger } from "./logger.js";

export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => unknown>();

  constructor(
    private readonly logger: Logger,
    /** Named in the log line when a listener fails, e.g. "escalation handler". */
    private readonly what: string,
  ) {}

  /** Adds a listener; returns the function that removes it. */
  add(listener: (...args: A) => unknown): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  get size(): number {
    return this.set.size;
  }

  /** Calls every listener now. `context` goes into the log line of a failure. */
  emit(context: object, ...args: A): void {
    for (const l of this.set) {
      try {
        const r = l(...args);
        if (r instanceof Promise) {
          r.catch((err: unknown) =>
            this.logger.warn({ ...context, err: String(err) }, `${this.what} rejected`),
          );
        }
      } catch (err) {
        this.logger.warn({ ...context, err: String(err) }, `${this.what} threw`);
      }
    }
  }
}

/** Logs an escalation action and hands each handler its own copy (one cannot change what the next sees). */
export function announceAction(
  logger: Logger,
  handlers: Listeners<[EscalationAction]>,
  action: EscalationAction,
): void {
  logger.warn(
    {
      peer: action.peer_name,
      action: action.action,
      severity: action.severity,
      incident_id: action.incident_id,
      result: action.result,
    },
    action.reason,
  );
  if (handlers.size > 0) {
    handlers.emit(
      { peer: action.peer_name },
      { ...action, result: action.result ? { ...action.result } : undefined },
    );
  }
}
