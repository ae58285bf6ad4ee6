/**
 * Timers whose callbacks run one at a time, in order, on a single promise
 * chain. A batch's tick, cancel and expiry steps therefore never interleave,
 * even though each of them awaits file I/O.
 */
export class StepQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly onError: (err: unknown) => Promise<void>) {}

  /** Run `step` after `delayMs`, once every earlier step has finished. */
  schedule(step: () => Promise<void>, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.chain = this.chain.then(() => this.run(step));
    }, delayMs);
    this.timers.add(timer);
  }

  /** Drop every pending timer (e.g. a finished batch's 24 h expiry, which would keep the process alive). */
  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Stop for good: no new steps, pending timers dropped, the running step awaited. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    await this.chain;
  }

  private async run(step: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    try {
      await step();
    } catch (err) {
      await this.onError(err);
    }
  }
}
