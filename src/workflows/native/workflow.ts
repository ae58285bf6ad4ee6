/**
 * nativeBatchWorkflow: a batch run through the provider's Batch API. Plans provider batches over the
 * store's chunks and runs one child workflow per provider batch (`batch-<id>-pb-<k>`), at most
 * `maxInFlight` at once. Leftovers of an expired or failed provider batch (items without a final result)
 * go to a new provider batch (`…-pb-<k>-r<n>`) or, by policy, to the realtime batch workflow
 * (`batch-<id>-pb-<k>-rt`). Holds one small entry per plan: ids, ranges and counts, never bodies.
 */
import { CancellationScope, condition, log } from '@temporalio/workflow';
import type { NativeBatchInput, NativeBatchResult } from '../../shared/native';
import { failureReason, failureType } from '../failures';
import { endEvent, eventData, notify } from '../notify';
import { parentActivities } from './activityProxies';
import { startPlan, watchDeadline } from './children';
import { setNativeHandlers, show } from './handlers';
import { initialState, parseInput } from './helpers';
import { batchProgress, nativeProgress } from './progress';
import type { NativeRun } from './types';
import { Visibility } from '../visibility';

/** Plans the provider batches and queues every plan. */
async function plan(run: NativeRun): Promise<void> {
  const { input, state } = run;
  const plans = await run.activities.planProviderBatches({
    batchId: input.batchId,
    chunkCount: input.chunkCount,
    limits: input.limits,
  });
  for (const p of plans) {
    state.entries.push({ plan: p, round: 0, state: 'queued', workflowId: null, last: null, summary: null });
    state.queue.push(p.index);
  }
  const ids = { batchId: input.batchId, tenant: input.tenant, mode: 'native' };
  log.info('native batch planned', { ...ids, providerBatches: plans.length });
}

/** Records the outcome in the store and tells the webhook; the store's counts are the final word. */
async function finish(run: NativeRun): Promise<NativeBatchResult> {
  const { input, state } = run;
  state.finalStatus = state.failure !== undefined ? 'failed' : state.cancelRequested ? 'cancelled' : 'completed';
  show(run);
  const base = batchProgress(run);
  if (state.failure !== undefined) base.error = failureReason(state.failure);
  // Results reach the batch only through the store, so its counts are the final word (recount); the
  // outcome goes to the store too, where the API reads a finished batch without Temporal.
  const outcome = await run.activities.finishBatch({
    progress: base,
    chunkCount: input.chunkCount,
    recount: true,
    price: input.price,
    tenant: input.tenant,
  });
  state.finalSummary = {
    succeeded: outcome.succeeded,
    failed: outcome.failed,
    tokensIn: outcome.tokensIn,
    tokensOut: outcome.tokensOut,
    repaired: outcome.repaired,
    invalidOutput: outcome.invalidOutput,
  };
  // Expired: items the provider's window ran out on are among the dead letters.
  const expired = outcome.failed > 0 && state.entries.some((e) => e.last?.status === 'expired');
  const ended = { batchId: input.batchId, tenant: input.tenant, mode: 'native', status: state.finalStatus, expired };
  const counts = { succeeded: outcome.succeeded, failed: outcome.failed, total: input.total };
  if (state.failure !== undefined)
    log.warn('batch finished', { ...ended, ...counts, failure: failureType(state.failure) });
  else log.info('batch finished', { ...ended, ...counts });
  await notify(input, endEvent(state.finalStatus, expired), eventData(outcome));
  if (state.failure !== undefined) throw state.failure;
  return nativeProgress(run);
}

/** options.notBefore: a durable timer before anything is planned or sent; a cancel ends it at once. */
async function awaitNotBefore(run: NativeRun): Promise<void> {
  const { input, state } = run;
  if (!state.scheduled || input.notBeforeMs === undefined) return;
  const ids = { batchId: input.batchId, tenant: input.tenant, mode: 'native' };
  log.info('batch scheduled', { ...ids, notBefore: new Date(input.notBeforeMs).toISOString() });
  await condition(() => state.cancelRequested, input.notBeforeMs - Date.now());
  state.scheduled = false;
  if (state.cancelRequested) return;
  state.startedAt = new Date().toISOString();
  log.info('batch starts: its notBefore time has come', ids);
  show(run);
}

export async function nativeBatchWorkflow(raw: NativeBatchInput): Promise<NativeBatchResult> {
  const input = parseInput(raw);
  const activities = parentActivities(input.activityTaskQueue);
  const run: NativeRun = { input, state: initialState(input), activities, visibility: new Visibility() };
  const { state } = run;
  setNativeHandlers(run);
  show(run);
  log.info('batch started', { batchId: input.batchId, tenant: input.tenant, mode: 'native', total: input.total });

  return CancellationScope.nonCancellable(async (): Promise<NativeBatchResult> => {
    await awaitNotBefore(run);
    if (!state.cancelRequested) await plan(run);
    if (input.deadlineMs !== undefined) watchDeadline(run, input.deadlineMs - input.realtimeReserveMs);

    for (;;) {
      await condition(
        () =>
          state.cancelRequested ||
          (state.queue.length === 0 && state.running === 0) ||
          (!state.paused && state.queue.length > 0 && state.running < input.maxInFlight),
      );
      if (state.cancelRequested || state.queue.length === 0) break;
      startPlan(run, state.queue.shift() as number);
    }
    await condition(() => state.running === 0);
    return finish(run);
  });
}
