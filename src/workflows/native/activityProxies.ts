/** The native workflow's own activities: planning, dead letters, the realtime fallback's store work, the end. */
import { proxyActivities } from '@temporalio/workflow';
import type { NativeActivities } from '../../activities/native';
import { FailureType } from '../../shared/failures';
import { storeActivities } from '../batch/activityProxies';

/** Failures no retry can mend: every other provider batch would fail the same way. */
export const BATCH_FATAL_TYPES: string[] = [FailureType.ProviderAuthError, FailureType.NativeChunkTooLarge];

/** The parent's activities, on the native queue (store and provider-file work, never rate-limited calls). */
export function parentActivities(taskQueue: string | undefined) {
  // Picked by name: an activity proxy has no own keys to spread.
  const { planProviderBatches, recordUnfinished, prepareRealtimeFallback, mergeRealtimeFallback } =
    proxyActivities<NativeActivities>({
      taskQueue,
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: '1 minute',
      retry: {
        initialInterval: '2 seconds',
        backoffCoefficient: 2,
        maximumInterval: '1 minute',
        nonRetryableErrorTypes: BATCH_FATAL_TYPES,
      },
    });
  const { finishBatch } = storeActivities(taskQueue);
  return { planProviderBatches, recordUnfinished, prepareRealtimeFallback, mergeRealtimeFallback, finishBatch };
}
