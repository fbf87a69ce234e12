// A set of listeners that one misbehaving listener cannot break: a throw or a rejected
// promise is logged, the other listeners still run, and nothing is awaited.
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
