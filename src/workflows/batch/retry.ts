/**
 * A completed batch with dead letters waits out its retry grace (LLMBATCH_RETRY_GRACE) for the
 * `retryDeadLetters` signal, sent from the Web UI or `temporal workflow signal`. Taken, its dead letters are
 * reopened in the store and their chunks run again in the same batch, which then ends as any batch does
 * (finishBatch, the end event) and waits again if dead letters remain.
 */
import { condition, log } from '@temporalio/workflow';
import type { BatchWorkflowResult } from '../../shared/contracts';
import { storeActivities } from './activityProxies';
import type { BatchRun } from './run';

/** True when the signal came: the batch runs to its end again (its outcome was removed with the dead letters). */
export async function awaitRetry(run: BatchRun, outcome: BatchWorkflowResult): Promise<boolean> {
  const { input, state } = run;
  const graceMs = input.retryGraceMs ?? 0;
  if (graceMs <= 0 || outcome.status !== 'completed' || outcome.failed === 0) return false;
  run.retryable = true;
  // A cancel during the grace ends it: the batch stays completed, as it is.
  const signalled = await condition(() => run.retryRequested || run.cancelRequested, graceMs);
  run.retryable = false;
  if (!signalled || !run.retryRequested) return false;
  run.retryRequested = false;
  const { reopenDeadLetters } = storeActivities(input.activityTaskQueue);
  const r = await reopenDeadLetters({ batchId: input.batchId, chunkCount: input.chunkCount });
  const chunks = Object.keys(r.kept).map(Number);
  state.failed -= r.reopened;
  state.requeued.push(...chunks);
  state.retry = { count: (state.retry?.count ?? 0) + 1, kept: { ...state.retry?.kept, ...r.kept } };
  run.finalStatus = undefined;
  run.show();
  log.info('retrying dead letters', { batchId: input.batchId, items: r.reopened, chunks: chunks.length });
  return true;
}
