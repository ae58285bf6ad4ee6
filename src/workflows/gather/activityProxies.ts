/** The gatherer's one activity: a flush, which turns gathered requests into an ordinary batch. */
import { proxyActivities } from '@temporalio/workflow';
import type { GatherActivities } from '../../activities/gather';

/**
 * On `taskQueue`, a queue without the provider's rate limit (the native one): the server's limit on the main queue
 * counts every activity on it, and a flush calls no provider, so it must not spend the chunks' tokens or wait for
 * them. No attempt limit: a flush waits out a full concurrent-batch quota or a store that is down, backing off to
 * 10 s. It is idempotent (activities/gather.ts), so a retry after a lost answer makes no second batch.
 */
export const flushActivity = (taskQueue: string) =>
  proxyActivities<GatherActivities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
    summary: 'gathered requests into a batch',
  }).flushGathered;
