/**
 * The activities of a schedule's run (scheduledBatchWorkflow): create the run's batch, then wait for its end. The
 * batch is created by the API's own code, which the worker injects (`createBatch`): one way of creating a batch.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { batchWorkflowId } from '../shared/contracts';
import { FailureType } from '../shared/failures';
import type { CreateScheduledBatch, ScheduledBatchInput } from '../shared/schedules';

export interface ScheduleActivityDeps {
  client: Client;
  createBatch: CreateScheduledBatch;
}

/** How often a wait says it is alive: well within the workflow's heartbeat timeout. */
const HEARTBEAT_MS = 10_000;

export function createScheduleActivities({ client, createBatch }: ScheduleActivityDeps) {
  return {
    /** The run's batch; a refusal (quota, the file gone) fails the run at once, naming why. */
    async startScheduledBatch(input: ScheduledBatchInput): Promise<{ batchId: string; total: number }> {
      const { workflowExecution } = Context.current().info;
      if (!workflowExecution) throw new Error('startScheduledBatch runs only inside a workflow');
      const runWorkflowId = workflowExecution.workflowId;
      const outcome = await createBatch({ ...input, runWorkflowId });
      if (!outcome.ok)
        throw ApplicationFailure.nonRetryable(outcome.reason, FailureType.ScheduledRunRefused, { code: outcome.code });
      return { batchId: outcome.batchId, total: outcome.total };
    },

    /**
     * Waits for the batch's workflow to close and says how it ended. Temporal answers the wait when the workflow
     * closes (a long poll, not a loop); the heartbeats carry cancellation and let a dead worker's wait be retried.
     */
    async awaitBatchEnd(batchId: string): Promise<string> {
      const context = Context.current();
      const handle = client.workflow.getHandle(batchWorkflowId(batchId));
      const beat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      try {
        await Promise.race([
          handle.result().catch((err: unknown) => {
            if (!(err instanceof WorkflowFailedError)) throw err; // failed, cancelled, terminated: ended all the same
          }),
          context.cancelled,
        ]);
        return (await handle.describe()).status.name;
      } catch (err) {
        // A batch whose start failed after its owner record was written (GET /batches/:id reads it as failed):
        // nothing to wait for, and retrying would not make it appear.
        if (err instanceof WorkflowNotFoundError) return 'NEVER_STARTED';
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
}

export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
