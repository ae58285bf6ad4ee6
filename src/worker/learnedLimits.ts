/**
 * Limits a worker learns from the provider reach every worker: the provider's stated limit for an
 * (endpoint, model) becomes the rate limit of the task queues that model's chunks run on, set at
 * runtime through the task-queue config (the path `PUT /lanes/limits` takes), so the server shares
 * it among all workers. `GET /lanes` reports it with `source: learned`.
 *  - A configured limit wins when it is lower: a queue whose start-up limit is at or below the learned
 *    one is left alone, and so is one whose limit an admin set at runtime.
 *  - The default queue carries every model without a lane of its own, so it gets the highest learned
 *    limit among them: enough for each, while each model's lane in the process paces it to its own.
 */
import type { WorkflowService } from '@temporalio/client';
import type { Config } from '../config';
import type { RateLimits } from '../shared/contracts';
import { chunksPerSecond, describeQueueRateLimit, learnedReason, setQueueRateLimit } from '../temporal/rateLimit';

interface Queue {
  taskQueue: string;
  startupLimits: RateLimits;
  /** The (endpoint, model) pairs whose learned limits apply to this queue; undefined: every pair without a lane. */
  serves?: { endpoint: string; model: string };
}

/** Within this share of what was last published, a learned limit is not published again. */
const SAME = 0.01;

export class LearnedLimits {
  private readonly learned = new Map<string, { endpoint: string; model: string; limits: RateLimits }>();
  private readonly published = new Map<string, number>();
  private readonly queues: Queue[];
  private readonly chunk: { maxItems: number; maxTokens: number };
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly service: WorkflowService,
    private readonly config: Config,
    private readonly warn: (message: string) => void,
  ) {
    this.chunk = { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens };
    this.queues = [
      { taskQueue: config.temporal.taskQueue, startupLimits: config.rateLimit },
      ...config.lanes.map((l) => ({
        taskQueue: l.taskQueue,
        startupLimits: l.limits,
        serves: { endpoint: l.endpoint, model: l.model },
      })),
    ];
  }

  /** Called by the activities' lanes when the provider states a new limit; publishes in the background, in order. */
  readonly onLearned = (endpoint: string, model: string, limits: RateLimits): void => {
    this.learned.set(`${endpoint} ${model}`, { endpoint, model, limits });
    this.pending = this.pending
      .then(() => this.publish())
      .catch((err: unknown) => this.warn(`llmbatch: could not apply a learned rate limit: ${String(err)}`));
  };

  /** Resolves once every learned limit so far has been published (tests, shutdown). */
  settled(): Promise<void> {
    return this.pending;
  }

  private limitsFor(queue: Queue): RateLimits | undefined {
    const mine = [...this.learned.values()].filter((l) =>
      queue.serves
        ? l.endpoint === queue.serves.endpoint && l.model === queue.serves.model
        : !this.config.lanes.some((lane) => lane.endpoint === l.endpoint && lane.model === l.model),
    );
    if (mine.length === 0) return undefined;
    // Per dimension, the highest limit; a model that states none leaves that dimension unlimited.
    const highest = (pick: (l: RateLimits) => number): number =>
      mine.some((l) => pick(l.limits) === 0) ? 0 : Math.max(...mine.map((l) => pick(l.limits)));
    return { rpm: highest((l) => l.rpm), tpm: highest((l) => l.tpm) };
  }

  private async publish(): Promise<void> {
    for (const queue of this.queues) {
      const limits = this.limitsFor(queue);
      const perSecond = limits && chunksPerSecond(limits, this.chunk);
      if (!limits || perSecond === undefined) continue;
      const last = this.published.get(queue.taskQueue);
      if (last !== undefined && Math.abs(last - perSecond) <= SAME * last) continue;
      const startup = chunksPerSecond(queue.startupLimits, this.chunk);
      if (startup !== undefined && startup <= perSecond) continue; // the configured limit is lower: it stays
      const { source } = await describeQueueRateLimit(this.service, this.config.temporal.namespace, queue.taskQueue);
      if (source === 'api') continue; // an admin's limit: theirs to change
      await setQueueRateLimit(
        this.service,
        this.config.temporal.namespace,
        queue.taskQueue,
        perSecond,
        learnedReason(limits),
      );
      this.published.set(queue.taskQueue, perSecond);
    }
  }
}
