/**
 * BatchWorkflow: one per batch (id `batch-<id>`). Keeps a sliding window of
 * chunk activities in flight and holds only counters; bodies stay in the store.
 */
import { ActivityCancellationType, CancellationScope, condition, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelSignal,
  progressQuery,
  type BatchProgress,
  type BatchWorkflowInput,
  type BatchWorkflowResult,
} from '../shared/contracts';

const MAX_ATTEMPTS = 5;

const { processChunk } = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  // Settle only once the activity has stopped, so the summary below sees its last writes.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: MAX_ATTEMPTS },
});

const { summarizeBatch } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes' });

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchWorkflowResult> {
  const progress: BatchProgress = {
    batchId: input.batchId,
    status: 'running',
    total: input.total,
    succeeded: 0,
    failed: 0,
    pending: input.total,
    chunksInFlight: 0,
  };
  let cancelRequested = false;
  setHandler(progressQuery, () => progress);

  const scope = new CancellationScope();
  setHandler(cancelSignal, () => {
    cancelRequested = true;
    scope.cancel();
  });

  let failure: unknown;
  const runChunk = async (chunk: number): Promise<void> => {
    progress.chunksInFlight += 1;
    try {
      const r = await processChunk({ batchId: input.batchId, chunk, maxAttempts: MAX_ATTEMPTS });
      progress.succeeded += r.succeeded;
      progress.failed += r.failed;
      progress.pending -= r.succeeded + r.failed;
    } catch (err) {
      if (!isCancellation(err)) {
        failure ??= err;
        scope.cancel(); // fail fast: e.g. the provider rejected our key
      }
    } finally {
      progress.chunksInFlight -= 1;
    }
  };

  await scope.run(async () => {
    for (let chunk = 0; chunk < input.chunkCount; chunk++) {
      await condition(() => progress.chunksInFlight < input.maxChunksInFlight || cancelRequested || failure !== undefined);
      if (cancelRequested || failure !== undefined) break;
      void runChunk(chunk);
    }
  }).catch((err: unknown) => {
    if (!isCancellation(err)) throw err;
  });
  // Outside the cancelled scope: wait until every chunk has finished or acknowledged its cancel.
  await condition(() => progress.chunksInFlight === 0);

  // The store is the final word: it counts results recorded by cancelled or retried attempts too.
  const summary = await summarizeBatch({ batchId: input.batchId });
  progress.succeeded = summary.succeeded;
  progress.failed = summary.failed;
  progress.pending = input.total - summary.succeeded - summary.failed;
  if (failure !== undefined) {
    progress.status = 'failed';
    throw failure;
  }
  progress.status = cancelRequested ? 'cancelled' : 'completed';
  return progress;
}
