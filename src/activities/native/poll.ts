/**
 * Poll: one look at a provider batch per activity attempt. The waits between polls are Temporal retry
 * timers, so they cost no worker and no history event.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Batch } from 'openai/resources/batches';
import { NO_WORKER_METRICS } from '../../metrics/workerMetrics';
import { FailureType } from '../../shared/failures';
import { isTerminalStatus, pollDelayMs } from '../../shared/native';
import { withHeartbeat, withProviderFailure } from './providerCall';
import type { NativeActivityDeps, PollInput, PollReport } from './types';

function reportOf(b: Batch, polls: number): PollReport {
  const counts = b.request_counts ?? { total: 0, completed: 0, failed: 0 };
  return {
    status: b.status,
    requestCounts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    outputFileId: b.output_file_id ?? null,
    errorFileId: b.error_file_id ?? null,
    error: b.errors?.data?.[0]?.message ?? null,
    polls,
  };
}

/**
 * "Not yet": retried after `delayMs`. Benign: an expected outcome, logged at debug level and kept out of
 * the failure metrics.
 */
function pending(message: string, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ProviderBatchPending,
    message,
    nextRetryDelay: delayMs,
    category: ApplicationFailureCategory.BENIGN,
  });
}

/** A report differs from what the workflow last saw. */
function changedSince(last: PollInput['last'], report: PollReport): boolean {
  return (
    !last ||
    last.status !== report.status ||
    last.completed !== report.requestCounts.completed ||
    last.failed !== report.requestCounts.failed
  );
}

/** Seconds from the provider batch's creation to its terminal status, by the provider's own timestamps. */
function secondsInProvider(b: Batch): number | undefined {
  const ended = b.completed_at ?? b.failed_at ?? b.expired_at ?? b.cancelled_at;
  return ended === undefined || ended === null ? undefined : ended - b.created_at;
}

export function createPollActivities({ openai, metrics = NO_WORKER_METRICS }: NativeActivityDeps) {
  return {
    /**
     * One poll per attempt. Not finished and nothing worth reporting: fail retryably with the backoff as
     * nextRetryDelay, so the wait is a server-side retry timer. No worker holds anything meanwhile and no
     * history event is written; the workflow hears only of terminal statuses and of changes after at least
     * `policy.reportEvery` polls.
     */
    async pollProviderBatch(input: PollInput): Promise<PollReport> {
      const { attempt } = Context.current().info;
      const polls = attempt - (input.deferFirst ? 1 : 0);
      if (polls === 0) throw pending('waiting before the next poll', pollDelayMs(input.policy, input.rampPolls));

      // Heartbeats only if the GET is slow (a first beat after 1 s): a fast poll costs the server nothing more.
      const b = await withHeartbeat(
        () => input.providerBatchId,
        () =>
          withProviderFailure(`retrieve ${input.providerBatchId}`, 'ProviderBatchNotFound', () =>
            openai.batches.retrieve(input.providerBatchId),
          ),
      ).catch((err: unknown) => {
        metrics.nativePolled('error');
        throw err;
      });
      metrics.nativePolled(b.status);
      const report = reportOf(b, polls);
      if (isTerminalStatus(b.status)) {
        metrics.nativeBatchEnded(b.status, secondsInProvider(b));
        return report;
      }
      if (changedSince(input.last, report) && polls >= input.policy.reportEvery) return report;
      const c = report.requestCounts;
      throw pending(
        `${input.providerBatchId} is ${b.status}: ${c.completed + c.failed} of ${c.total} done`,
        pollDelayMs(input.policy, input.rampPolls + polls),
      );
    },
  };
}
