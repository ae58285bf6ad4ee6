/**
 * The Temporal workers of one process, run and stopped together: the main worker (workflows and the
 * default queue's activities), one activity worker per rate-limit lane, and one for native mode's
 * activities. They share one set of activities, so every lane draws on the same worker-wide request slots.
 */
import type { Worker } from '@temporalio/worker';

export class WorkerGroup {
  constructor(readonly workers: Worker[]) {}

  /** Resolves once every worker has stopped (after shutdown(), or SIGINT/SIGTERM, which the SDK handles). */
  async run(): Promise<void> {
    const runs = this.workers.map((w) => w.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      // One worker failed: stop the rest so the process does not run half its queues.
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    }
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Runs the workers until `work` settles, then stops them; like Worker.runUntil. */
  async runUntil<R>(work: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      return await (typeof work === 'function' ? work() : work);
    } finally {
      this.shutdown();
      await running;
    }
  }
}
