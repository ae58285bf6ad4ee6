/**
 * BatchWorkflow: one per batch (id `batch-<id>`). Keeps a sliding window of
 * chunk activities in flight and holds only counters; bodies stay in the store.
 * Pause cancels in-flight chunks (their finished items stay recorded) and
 * re-runs them on resume; the activity skips what is recorded. A completed batch with dead letters
 * may wait for `retryDeadLetters` and run them again (retry.ts).
 */
import { allHandlersFinished, condition, continueAsNew, log } from '@temporalio/workflow';
import type { BatchWorkflowInput, BatchWorkflowResult } from '../../shared/contracts';
import { failureReason, failureType } from '../failures';
import { endEvent, eventData, notify } from '../notify';
import { storeActivities } from './activityProxies';
import { setBatchHandlers } from './handlers';
import { awaitNotBefore } from './notBefore';
import { awaitRetry } from './retry';
import { followRunWindow } from './runWindow';
import { BatchRun, initialState } from './run';

/** Records the outcome in the store and tells the webhook. */
async function finish(run: BatchRun): Promise<BatchWorkflowResult> {
  const { input, state } = run;
  const finalStatus = run.failure !== undefined ? 'failed' : run.cancelRequested ? 'cancelled' : 'completed';
  const progress = run.progress(finalStatus);
  if (run.failure !== undefined) progress.error = failureReason(run.failure);
  // The outcome goes to the store, so reading a finished batch needs no workflow query (a replay).
  const { finishBatch } = storeActivities(input.activityTaskQueue);
  const outcome = await finishBatch({
    progress,
    chunkCount: input.chunkCount,
    recount: finalStatus !== 'completed',
    price: input.price,
    tenant: input.tenant,
  });
  Object.assign(state, {
    succeeded: outcome.succeeded,
    failed: outcome.failed,
    tokensIn: outcome.tokensIn,
    tokensOut: outcome.tokensOut,
    cacheHits: outcome.cacheHits,
    repaired: outcome.repaired,
    invalidOutput: outcome.invalidOutput,
    steps: outcome.steps,
  });
  // Shown ended only now that the store holds the outcome: before, the progress query would answer "completed"
  // while the API's quota still counted the batch as running (no outcome, an open workflow).
  run.finalStatus = finalStatus;
  run.show();
  const counts = { succeeded: outcome.succeeded, failed: outcome.failed, total: input.total };
  const ended = { batchId: input.batchId, tenant: input.tenant, mode: 'realtime', status: finalStatus, ...counts };
  if (run.failure !== undefined) log.warn('batch finished', { ...ended, failure: failureType(run.failure) });
  else log.info('batch finished', ended);
  // After a retry of its dead letters, the batch ends again: a new event (its own delivery id), not a repeat.
  await notify(input, endEvent(finalStatus), eventData(outcome), state.retry?.count);
  if (run.failure !== undefined) throw run.failure;
  return outcome;
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchWorkflowResult> {
  const run = new BatchRun(input, input.carry ?? initialState(input));
  const { state } = run;
  setBatchHandlers(run);
  run.show();
  if (!input.carry)
    log.info('batch started', { batchId: input.batchId, tenant: input.tenant, mode: 'realtime', total: input.total });
  await awaitNotBefore(run);
  if (input.window) void followRunWindow(run, input.window);

  for (;;) {
    for (;;) {
      await condition(
        () => run.canSchedule() || run.stopping() || (run.inFlight.size === 0 && (!run.hasWork() || run.rollover())),
      );
      if (!run.canSchedule()) break;
      run.startNextChunk();
    }
    // Wait until every chunk has finished or acknowledged its cancel.
    await condition(() => run.inFlight.size === 0);

    if (!run.stopping() && run.hasWork()) {
      // History is getting long: start a fresh run with the counters (never the bodies). The search
      // attributes go along: the server copies them when continue-as-new names none.
      await condition(allHandlersFinished);
      log.info('batch continued as new', {
        batchId: input.batchId,
        tenant: input.tenant,
        mode: 'realtime',
        run: state.runs + 1,
      });
      return continueAsNew<typeof batchWorkflow>({ ...input, carry: { ...state, runs: state.runs + 1 } });
    }
    const outcome = await finish(run);
    if (!(await awaitRetry(run, outcome))) return outcome;
  }
}
