/** The batch workflow's activities: the chunk activity (per priority and lane), the end's record, the reopening. */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BatchWorkflowInput } from '../../shared/contracts';

/** `summary` is what the Web UI shows for the chunk's activity (e.g. "chunk 12 of 40 · up to 100 items"). */
export function chunkActivities(priorityKey: number, input: BatchWorkflowInput, summary?: string) {
  return proxyActivities<Activities>({
    summary,
    // A lane's own queue carries its server-side rate limit; otherwise the workflow's queue.
    taskQueue: input.chunkTaskQueue ?? input.lane?.taskQueue,
    startToCloseTimeout: '15 minutes',
    // Heartbeats flush every second (worker setting), so 10 s without one means the worker is gone.
    heartbeatTimeout: '10 seconds',
    // Settle only once the activity has stopped, so counts and re-runs see its last writes.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // No attempt limit: a chunk runs until each of its items is settled. Items count their own transient
    // failures against maxAttempts (see processChunk), so a killed worker or a lost heartbeat spends none.
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
    priority: { priorityKey, fairnessKey: input.tenant },
  });
}

/** The batch's store work, on `taskQueue` (input.activityTaskQueue: no rate limit; absent: the workflow's queue). */
export function storeActivities(taskQueue: string | undefined) {
  const { finishBatch } = proxyActivities<Activities>({ taskQueue, startToCloseTimeout: '5 minutes' });
  /** Reads every chunk of a big batch on a retried attempt (see reopen.ts): minutes, not seconds, at worst. */
  const { reopenDeadLetters } = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    summary: 'reopen the dead letters',
  });
  return { finishBatch, reopenDeadLetters };
}
