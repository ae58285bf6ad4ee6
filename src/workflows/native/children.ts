/**
 * One plan's way through the batch: its provider batch child, another round for its leftovers, the
 * realtime fallback, or dead letters. At most `maxInFlight` plans are started at once (see workflow.ts).
 * Structured outputs: a provider batch whose collection left answers invalid against their JSON Schema
 * (`toRepair`) sends the plan's leftovers to the realtime fallback at once, whatever the round and the expiry
 * policy: another provider batch would ask the same request again, while the fallback asks and then repairs
 * (the request with the invalid answer and its errors) up to the batch's `repairAttempts`. Expired items of
 * that same provider batch go along to realtime rather than to another round.
 */
import { ApplicationFailure, condition, log, startChild } from '@temporalio/workflow';
import { batchWorkflowId } from '../../shared/contracts';
import { ItemErrorCode } from '../../shared/failures';
import {
  providerBatchWorkflowId,
  realtimeFallbackBatchId,
  type ProviderBatchEntry,
  type ProviderBatchResult,
} from '../../shared/native';
import type { batchWorkflow } from '../batch';
import { failureReason, failureType } from '../failures';
import { providerBatchWorkflow } from '../providerBatch';
import { BATCH_FATAL_TYPES } from './activityProxies';
import { requestCancel, show, tell } from './handlers';
import { childOptions } from './helpers';
import type { NativeRun } from './types';

/** After a provider batch: done, another round, realtime, or dead letters for what is left. */
async function afterProviderBatch(
  run: NativeRun,
  e: ProviderBatchEntry,
  r: ProviderBatchResult | undefined,
  reason: string,
): Promise<void> {
  const { input, state } = run;
  if (r) {
    e.last = r;
    if (r.summary) e.summary = r.summary;
  }
  const remaining = r?.summary ? r.summary.remaining : r?.status === 'empty' ? 0 : undefined;
  if (state.cancelRequested || remaining === 0) return;
  const toRepair = r?.summary?.toRepair ?? 0;
  if (toRepair > 0)
    log.info('invalid structured outputs: repairing in realtime', { workflowId: e.workflowId, toRepair });
  if (state.deadlineSwitch || input.expiryPolicy === 'realtime' || toRepair > 0) return runRealtime(run, e);
  if (r?.status === 'cancelled') return;
  if (e.round + 1 < input.maxRounds) {
    e.round += 1;
    e.state = 'queued';
    state.queue.push(e.plan.index);
    return;
  }
  e.summary = await run.activities.recordUnfinished({
    batchId: input.batchId,
    plan: e.plan,
    code: ItemErrorCode.ProviderBatchExhausted,
    message: `no result after ${input.maxRounds} provider batches (last: ${reason})`,
    tenant: input.tenant,
  });
}

/** The plan's provider batch, as a child workflow; its failure is the plan's, unless every plan would fail. */
async function runProviderBatch(run: NativeRun, e: ProviderBatchEntry): Promise<void> {
  const { input, state } = run;
  const workflowId = providerBatchWorkflowId(input.batchId, e.plan.index, e.round);
  e.workflowId = workflowId;
  let result: ProviderBatchResult | undefined;
  let reason: string;
  try {
    const handle = await startChild(providerBatchWorkflow, {
      ...childOptions(run),
      workflowId,
      args: [
        {
          batchId: input.batchId,
          plan: e.plan,
          round: e.round,
          finalRound: input.expiryPolicy === 'resubmit' && e.round + 1 >= input.maxRounds,
          limits: input.limits,
          poll: input.poll,
          activityTaskQueue: input.activityTaskQueue,
          tenant: input.tenant,
          price: input.price,
        },
      ],
    });
    state.children.set(e.plan.index, { handle, realtime: false });
    // It came while the child was starting.
    if (state.cancelRequested || state.deadlineSwitch) tell(state, e.plan.index, 'cancel');
    result = await handle.result();
    reason = result.error ? `${result.status}: ${result.error}` : result.status;
  } catch (err) {
    const type = failureType(err);
    if (type !== undefined && BATCH_FATAL_TYPES.includes(type)) {
      // Every other provider batch would fail the same way: fail the batch, under the same name.
      throw ApplicationFailure.create({
        type,
        message: `${workflowId}: ${failureReason(err)}`,
        nonRetryable: true,
        cause: err instanceof Error ? err : undefined,
      });
    }
    // Any other failure of one provider batch is that batch failing: its leftovers go round again.
    reason = `failed: ${failureReason(err)}`;
    log.warn('provider batch failed', { workflowId, reason });
  } finally {
    state.children.delete(e.plan.index);
  }
  await afterProviderBatch(run, e, result, reason);
}

/** The plan's items without a result, run by the realtime batch workflow and merged back. */
async function runRealtime(run: NativeRun, e: ProviderBatchEntry): Promise<void> {
  const { input, state, activities } = run;
  e.state = 'realtime';
  const fallbackBatchId = realtimeFallbackBatchId(input.batchId, e.plan.index);
  const m = await activities.prepareRealtimeFallback({
    batchId: input.batchId,
    plan: e.plan,
    fallbackBatchId,
    chunkSize: input.realtime.chunkSize,
  });
  if (m.total > 0 && !state.cancelRequested) {
    e.workflowId = batchWorkflowId(fallbackBatchId);
    // cache: false, as native mode has no cache: hits here would be missing from the parent's counts.
    const handle = await startChild<typeof batchWorkflow>('batchWorkflow', {
      ...childOptions(run),
      workflowId: e.workflowId,
      args: [
        {
          batchId: fallbackBatchId,
          total: m.total,
          chunkCount: m.chunkCount,
          chunkSize: m.chunkSize,
          maxChunksInFlight: input.realtime.maxChunksInFlight,
          maxAttempts: input.realtime.maxAttempts,
          repairAttempts: input.realtime.repairAttempts,
          priority: state.priority,
          tenant: input.tenant,
          // Its calls are billed at the realtime price: the worker's cost metric counts them so.
          price: input.price,
          cache: false,
          activityTaskQueue: input.activityTaskQueue,
        },
      ],
    });
    state.children.set(e.plan.index, { handle, realtime: true });
    if (state.cancelRequested) tell(state, e.plan.index, 'cancel');
    else if (state.paused) tell(state, e.plan.index, 'pause');
    try {
      await handle.result();
    } finally {
      state.children.delete(e.plan.index);
    }
  }
  // Also after a cancel: what the fallback finished belongs to the batch.
  e.summary = await activities.mergeRealtimeFallback({ batchId: input.batchId, plan: e.plan, fallbackBatchId });
}

/** Starts plan `index`: its provider batch, or its realtime fallback once the deadline has switched. */
export function startPlan(run: NativeRun, index: number): void {
  const { state } = run;
  const e = state.entries[index] as ProviderBatchEntry;
  e.state = 'running';
  state.running += 1;
  void (state.deadlineSwitch ? runRealtime(run, e) : runProviderBatch(run, e))
    .catch((err: unknown) => {
      state.failure ??= err; // e.g. the provider rejected our key: stop everything
      requestCancel(state);
    })
    .finally(() => {
      state.running -= 1;
      if (e.state !== 'queued') e.state = 'done';
      show(run);
    });
}

/**
 * Auto mode with a deadline: provider batches still running when only the realtime reserve is left
 * would miss it. Cancel them (what finished is collected) and run every item left in realtime.
 */
export function watchDeadline(run: NativeRun, switchAtMs: number): void {
  const { input, state } = run;
  const finished = (): boolean => state.cancelRequested || (state.queue.length === 0 && state.running === 0);
  void condition(finished, Math.max(0, switchAtMs - Date.now())).then((ended) => {
    if (ended) return;
    state.deadlineSwitch = true;
    const switchedAt = new Date(switchAtMs).toISOString();
    const why = `the deadline was too near for the provider's window: the rest runs in realtime`;
    state.modeReason = `${state.modeReason ?? 'native'}; at ${switchedAt} ${why}`;
    log.info('deadline near: switching the rest to realtime', { batchId: input.batchId });
    for (const [index, child] of state.children) if (!child.realtime) tell(state, index, 'cancel');
  });
}
