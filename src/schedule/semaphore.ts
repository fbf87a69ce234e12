// Bounds how many probes run at once. FIFO, O(1) per acquire/release.

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private head = 0;

  constructor(private readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length - this.head;
  }

  /** Resolves when a slot is free; the caller must call release() exactly once. */
  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head] as () => void;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      next(); // the slot passes straight to the next waiter
      return;
    }
    this.active--;
  }
}
