import type { WorkflowService } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../src/config';
import { LearnedLimits } from '../../src/worker/learnedLimits';

const Source = temporal.api.enums.v1.RateLimitSource;

/** The two task-queue calls LearnedLimits makes, against queues held in memory. */
function fakeService(admin: Record<string, number> = {}) {
  const limits = new Map<string, { perSecond: number; reason: string }>(
    Object.entries(admin).map(([q, perSecond]) => [q, { perSecond, reason: 'llmbatch: rpm=1 tpm=0' }]),
  );
  const service = {
    updateTaskQueueConfig: jest.fn(
      async (req: {
        taskQueue: string;
        updateQueueRateLimit: { rateLimit?: { requestsPerSecond: number }; reason: string };
      }) => {
        const rate = req.updateQueueRateLimit.rateLimit;
        if (rate)
          limits.set(req.taskQueue, { perSecond: rate.requestsPerSecond, reason: req.updateQueueRateLimit.reason });
        else limits.delete(req.taskQueue);
        return {};
      },
    ),
    describeTaskQueue: jest.fn(async (req: { taskQueue: { name: string } }) => {
      const set = limits.get(req.taskQueue.name);
      return set
        ? {
            effectiveRateLimit: { requestsPerSecond: set.perSecond, rateLimitSource: Source.RATE_LIMIT_SOURCE_API },
            config: { queueRateLimit: { metadata: { reason: set.reason } } },
          }
        : { effectiveRateLimit: {} };
    }),
  };
  return { service: service as unknown as WorkflowService, limits, calls: service.updateTaskQueueConfig };
}

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    LLMBATCH_CHUNK_SIZE: '100',
    LLMBATCH_LANES: JSON.stringify([{ model: 'fast', rpm: 600 }, { model: 'open' }]),
    ...env,
  });

describe('LearnedLimits', () => {
  it('puts a model’s stated limit on its lane’s queue, as a learned one', async () => {
    const c = config();
    const { service, limits } = fakeService();
    const learned = new LearnedLimits(service, c, () => undefined);
    learned.onLearned('/v1/chat/completions', 'open', { rpm: 1200, tpm: 0 });
    await learned.settled();
    expect(limits.get(c.lanes[1]!.taskQueue)).toEqual({ perSecond: 0.2, reason: 'llmbatch: learned rpm=1200 tpm=0' });
  });

  it('leaves a lower configured limit, and an admin’s, alone; publishes a change only once', async () => {
    const c = config();
    const { service, limits, calls } = fakeService({ [c.temporal.taskQueue]: 3 });
    const learned = new LearnedLimits(service, c, () => undefined);
    learned.onLearned('/v1/chat/completions', 'fast', { rpm: 3000, tpm: 0 }); // its lane says 600
    learned.onLearned('/v1/chat/completions', 'other', { rpm: 3000, tpm: 0 }); // the default queue: an admin set 3/s
    learned.onLearned('/v1/chat/completions', 'open', { rpm: 3000, tpm: 0 });
    learned.onLearned('/v1/chat/completions', 'open', { rpm: 3000, tpm: 0 });
    await learned.settled();
    expect(limits.has(c.lanes[0]!.taskQueue)).toBe(false);
    expect(limits.get(c.temporal.taskQueue)?.perSecond).toBe(3);
    expect(calls).toHaveBeenCalledTimes(1); // the open lane, once
  });

  it('gives the default queue the highest limit among the models it carries', async () => {
    const c = config();
    const { service, limits } = fakeService();
    const learned = new LearnedLimits(service, c, () => undefined);
    learned.onLearned('/v1/chat/completions', 'a', { rpm: 1200, tpm: 0 });
    learned.onLearned('/v1/chat/completions', 'b', { rpm: 6000, tpm: 0 });
    await learned.settled();
    expect(limits.get(c.temporal.taskQueue)?.perSecond).toBeCloseTo(1);
  });

  it('says so when Temporal refuses, and goes on', async () => {
    const warnings: string[] = [];
    const service = { describeTaskQueue: () => Promise.reject(new Error('unavailable')) } as unknown as WorkflowService;
    const learned = new LearnedLimits(service, config(), (m) => warnings.push(m));
    learned.onLearned('/v1/chat/completions', 'open', { rpm: 1200, tpm: 0 });
    await learned.settled();
    expect(warnings).toEqual([expect.stringContaining('could not apply a learned rate limit: Error: unavailable')]);
  });
});
