/** The provider batch workflow's activities and their timeouts and retry policies. */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { NativeActivities } from '../../activities/native';
import { FailureType } from '../../shared/failures';
import type { PollPolicy } from '../../shared/native';

const NON_RETRYABLE = [
  FailureType.ProviderAuthError,
  FailureType.ProviderBatchRejected,
  FailureType.NativeChunkTooLarge,
];

/** The child's activities, on `taskQueue` (the native queue; absent: the workflow's own). */
export function stepActivities(taskQueue: string | undefined) {
  const { uploadProviderBatchInput, createProviderBatch, cancelProviderBatch } = proxyActivities<NativeActivities>({
    taskQueue,
    startToCloseTimeout: '15 minutes',
    // These activities heartbeat every second whatever they wait for (a 200 MB upload, a slow list), so
    // silence means a dead worker: retried elsewhere after 10 s, as the realtime chunk activity is.
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 10,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  // Collecting reads and records a whole output file: longer, and retried without a cap.
  const { collectProviderBatch } = proxyActivities<NativeActivities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  });
  return { uploadProviderBatchInput, createProviderBatch, cancelProviderBatch, collectProviderBatch };
}

export type StepActivities = ReturnType<typeof stepActivities>;

/**
 * The poll's retry policy is the wait between polls: unlimited attempts, the backoff set per attempt by
 * nextRetryDelay.
 */
export function pollActivity(policy: PollPolicy, taskQueue: string | undefined) {
  return proxyActivities<NativeActivities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    // A worker killed during a poll's GET would otherwise stall the batch for the whole startToClose
    // timeout; the poll heartbeats while its GET runs, so a dead worker is noticed in 10 s.
    heartbeatTimeout: '10 seconds',
    // A cancel must not wait out the next retry timer: settle at once, the running GET (if any) is harmless.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: {
      initialInterval: policy.initialMs,
      backoffCoefficient: policy.coefficient,
      maximumInterval: policy.maxMs,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  }).pollProviderBatch;
}
