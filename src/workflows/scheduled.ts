/**
 * scheduledBatchWorkflow: one run of a schedule (POST /schedules). It creates the run's batch from the stored
 * file (ids in history, never a line) and stays open until that batch ends, so that the schedule's overlap
 * policy (skip by default) sees a run as going for as long as its batch is.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ScheduleActivities } from '../activities/schedules';
import { nativeTaskQueue } from '../shared/contracts';
import type { ScheduledBatchInput, ScheduledRunResult } from '../shared/schedules';

export async function scheduledBatchWorkflow(input: ScheduledBatchInput): Promise<ScheduledRunResult> {
  // The queue without an RPM limit: these activities make no provider calls and must not spend the chunks' budget.
  const taskQueue = nativeTaskQueue(workflowInfo().taskQueue);
  const { startScheduledBatch } = proxyActivities<ScheduleActivities>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const { awaitBatchEnd } = proxyActivities<ScheduleActivities>({
    taskQueue,
    // A batch may run for days; the heartbeat notices a dead worker within the minute.
    startToCloseTimeout: '30 days',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
  });
  const { batchId, total } = await startScheduledBatch(input);
  const ended = await awaitBatchEnd(batchId);
  return { batchId, total, ended };
}
