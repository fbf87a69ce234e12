// Coalesces non-escalating peer state changes (last_seen, response time, last_error)
// so the probe hot path costs a Map.set; they are written in one transaction on
// flush(), or at most `delayMs` after the first buffered change.
import type { LadderState } from "../core/ladder.js";

/** Default longest time a buffered change waits before it is written, ms. */
export const STATE_FLUSH_DELAY_MS = 1000;

export class StateBuffer {
  private pending = new Map<string, LadderState>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly write: (batch: ReadonlyMap<string, LadderState>) => void,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = STATE_FLUSH_DELAY_MS,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  set(peer: string, state: LadderState): void {
    this.pending.set(peer, state);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.flush();
      } catch (e) {
        this.onError(e);
        this.schedule(); // the batch was kept: try again later
      }
    }, this.delayMs);
    this.timer.unref();
  }

  /** A committed transition supersedes an older buffered state of the same peer. */
  drop(peer: string): void {
    this.pending.delete(peer);
  }

  /** Writes everything buffered. On failure the batch stays buffered (retried next flush) and the error is thrown. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.write(batch);
    } catch (e) {
      // Keep newer states that arrived meanwhile; restore the rest.
      for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v);
      throw e;
    }
  }

  /** Stops the timer without writing (after a final flush, or when closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
