/**
 * nativeBatchWorkflow: a batch run through the provider's Batch API. Plans provider batches over the
 * store's chunks and runs one child workflow per provider batch (`batch-<id>-pb-<k>`), at most
 * `maxInFlight` at once. Leftovers of an expired or failed provider batch (items without a final result)
 * go to a new provider batch (`…-pb-<k>-r<n>`) or, by policy, to the realtime batch workflow
 * (`batch-<id>-pb-<k>-rt`). Holds one small entry per plan: ids, ranges and counts, never bodies.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NativeActivities } from '../activities/native';
import {
  batchWorkflowId,
  cancelSignal,
  DEFAULT_PRIORITY,
  pauseSignal,
  PrioritySchema,
  progressQuery,
  resumeSignal,
  setPrioritySignal,
  costUsd,
  type BatchProgress,
  type BatchStatus,
} from '../shared/contracts';
import {
  cancelProviderBatchSignal,
  NativeBatchInputSchema,
  NativeFailureType,
  nativeProgressQuery,
  providerBatchWorkflowId,
  realtimeFallbackBatchId,
  type NativeBatchInput,
  type NativeBatchResult,
  type NativeProgress,
  type ProviderBatchEntry,
  type ProviderBatchResult,
  type RangeSummary,
  type ResolvedNativeBatchInput,
} from '../shared/native';
import type { batchWorkflow } from './batch';
import { failureReason, failureType } from './failures';
import { endEvent, eventData, notify } from './notify';
import { providerBatchWorkflow } from './providerBatch';

export { providerBatchWorkflow };

const NON_RETRYABLE = ['ProviderAuthError', NativeFailureType.ChunkTooLarge];

/** The parent's activities, on the native queue (store and provider-file work, never rate-limited calls). */
function parentActivities(taskQueue: string | undefined) {
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
        nonRetryableErrorTypes: NON_RETRYABLE,
      },
    });
  const { finishBatch } = proxyActivities<Activities>({ taskQueue, startToCloseTimeout: '5 minutes' });
  return { planProviderBatches, recordUnfinished, prepareRealtimeFallback, mergeRealtimeFallback, finishBatch };
}

function parseInput(raw: NativeBatchInput): ResolvedNativeBatchInput {
  const parsed = NativeBatchInputSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // Failing the workflow (not the task, which would retry forever) names the bad field to the caller.
  throw ApplicationFailure.create({
    type: NativeFailureType.InvalidInput,
    message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    nonRetryable: true,
  });
}

type Child = ChildWorkflowHandle<typeof providerBatchWorkflow> | ChildWorkflowHandle<typeof batchWorkflow>;

export async function nativeBatchWorkflow(raw: NativeBatchInput): Promise<NativeBatchResult> {
  const input = parseInput(raw);
  const { planProviderBatches, recordUnfinished, prepareRealtimeFallback, mergeRealtimeFallback, finishBatch } =
    parentActivities(input.activityTaskQueue);
  const startedAt = new Date().toISOString();
  const entries: ProviderBatchEntry[] = [];
  const queue: number[] = [];
  const children = new Map<number, { handle: Child; realtime: boolean }>();
  let running = 0;
  let paused = false;
  let cancelRequested = false;
  let priority = input.priority ?? DEFAULT_PRIORITY;
  let failure: unknown;
  let finalStatus: BatchStatus | undefined;
  let finalSummary: Omit<RangeSummary, 'remaining'> | undefined;
  let modeReason = input.modeReason;
  /** Auto mode's deadline is near: provider batches are cancelled and everything left runs in realtime. */
  let deadlineSwitch = false;

  /** Signals a child; one that has just finished cannot take it, and that is fine. */
  const tell = (index: number, what: 'cancel' | 'pause' | 'resume'): void => {
    const child = children.get(index);
    if (!child) return;
    const signal = !child.realtime
      ? what === 'cancel'
        ? cancelProviderBatchSignal
        : undefined
      : { cancel: cancelSignal, pause: pauseSignal, resume: resumeSignal }[what];
    if (!signal) return;
    // Handlers run in the root scope, which a Temporal cancel has cancelled: shield the signal from it.
    void CancellationScope.nonCancellable(() => child.handle.signal(signal)).catch((err: unknown) =>
      log.info('signal not delivered', { index, what, err }),
    );
  };
  const requestCancel = (): void => {
    cancelRequested = true;
    queue.length = 0;
    for (const index of children.keys()) tell(index, 'cancel');
  };

  const status = (): BatchStatus => finalStatus ?? (cancelRequested ? 'cancelled' : paused ? 'paused' : 'running');
  const progress = (): NativeProgress => {
    const t = finalSummary ?? { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0 };
    if (!finalSummary) {
      for (const e of entries) {
        t.succeeded += e.summary?.succeeded ?? 0;
        t.failed += e.summary?.failed ?? 0;
        t.tokensIn += e.summary?.tokensIn ?? 0;
        t.tokensOut += e.summary?.tokensOut ?? 0;
      }
    }
    const inFlight = entries.filter((e) => e.state === 'running' || e.state === 'realtime');
    const done = t.succeeded + t.failed;
    const nowMs = Date.now();
    const elapsed = Math.max(0.001, (nowMs - Date.parse(startedAt)) / 1000);
    const base: BatchProgress = {
      batchId: input.batchId,
      status: status(),
      total: input.total,
      ...t,
      // Native batches do not use the response cache (README: Response cache).
      cacheHits: 0,
      pending: Math.max(0, input.total - done),
      // In native mode these count provider batches (and realtime fallbacks) in flight and their lines.
      chunksInFlight: inFlight.length,
      itemsInFlight: inFlight.reduce((n, e) => n + e.plan.lines, 0),
      priority,
      maxChunksInFlight: input.maxInFlight,
      startedAt,
      updatedAt: new Date(nowMs).toISOString(),
      ratePerSecond: Math.round((done / elapsed) * 10) / 10,
      // Provider batches finish in bursts within their window: a rate-based ETA would mislead.
      eta: null,
      runs: 1,
      // Provider batches are not rate-limited by our task-queue lanes (the provider paces them).
      lane: null,
      mode: 'native',
      modeReason,
      // Results that came through a realtime fallback paid full price: this is a lower bound then.
      costUsd: costUsd(input.price, t.tokensIn, t.tokensOut, 'native'),
    };
    return { ...base, mode: 'native', expiryPolicy: input.expiryPolicy, providerBatches: entries };
  };

  setHandler(nativeProgressQuery, progress);
  setHandler(progressQuery, (): BatchProgress => {
    const { expiryPolicy: _e, providerBatches: _p, ...base } = progress();
    return base;
  });
  setHandler(cancelSignal, requestCancel);
  setHandler(pauseSignal, () => {
    paused = true;
    for (const index of children.keys()) tell(index, 'pause');
  });
  setHandler(resumeSignal, () => {
    paused = false;
    for (const index of children.keys()) tell(index, 'resume');
  });
  setHandler(setPrioritySignal, (p) => {
    if (PrioritySchema.safeParse(p).success) priority = p;
    else log.warn('setPriority ignored: expected a whole number from 1 to 5', { p });
  });
  // A Temporal cancel means the same as the signal; the body runs uncancellable so it can wind down.
  void CancellationScope.current().cancelRequested.catch(requestCancel);

  const childOptions = () => ({
    // Closing the parent any other way than through its own end asks each child to cancel its provider batch.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    priority: { priorityKey: priority, fairnessKey: input.tenant },
  });

  /** After a provider batch: done, another round, realtime, or dead letters for what is left. */
  const afterProviderBatch = async (
    e: ProviderBatchEntry,
    r: ProviderBatchResult | undefined,
    reason: string,
  ): Promise<void> => {
    if (r) {
      e.last = r;
      if (r.summary) e.summary = r.summary;
    }
    const remaining = r?.summary ? r.summary.remaining : r?.status === 'empty' ? 0 : undefined;
    if (cancelRequested || remaining === 0) return;
    if (deadlineSwitch || input.expiryPolicy === 'realtime') return runRealtime(e);
    if (r?.status === 'cancelled') return;
    if (e.round + 1 < input.maxRounds) {
      e.round += 1;
      e.state = 'queued';
      queue.push(e.plan.index);
      return;
    }
    e.summary = await recordUnfinished({
      batchId: input.batchId,
      plan: e.plan,
      code: 'provider_batch_exhausted',
      message: `no result after ${input.maxRounds} provider batches (last: ${reason})`,
    });
  };

  const runProviderBatch = async (e: ProviderBatchEntry): Promise<void> => {
    const workflowId = providerBatchWorkflowId(input.batchId, e.plan.index, e.round);
    e.workflowId = workflowId;
    let result: ProviderBatchResult | undefined;
    let reason: string;
    try {
      const handle = await startChild(providerBatchWorkflow, {
        ...childOptions(),
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
          },
        ],
      });
      children.set(e.plan.index, { handle, realtime: false });
      if (cancelRequested || deadlineSwitch) tell(e.plan.index, 'cancel'); // it came while the child was starting
      result = await handle.result();
      reason = result.error ? `${result.status}: ${result.error}` : result.status;
    } catch (err) {
      const type = failureType(err);
      if (type === 'ProviderAuthError' || type === NativeFailureType.ChunkTooLarge) {
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
      children.delete(e.plan.index);
    }
    await afterProviderBatch(e, result, reason);
  };

  const runRealtime = async (e: ProviderBatchEntry): Promise<void> => {
    e.state = 'realtime';
    const fallbackBatchId = realtimeFallbackBatchId(input.batchId, e.plan.index);
    const m = await prepareRealtimeFallback({
      batchId: input.batchId,
      plan: e.plan,
      fallbackBatchId,
      chunkSize: input.realtime.chunkSize,
    });
    if (m.total > 0 && !cancelRequested) {
      e.workflowId = batchWorkflowId(fallbackBatchId);
      // cache: false, as native mode has no cache: hits here would be missing from the parent's counts.
      const handle = await startChild<typeof batchWorkflow>('batchWorkflow', {
        ...childOptions(),
        workflowId: e.workflowId,
        args: [
          {
            batchId: fallbackBatchId,
            total: m.total,
            chunkCount: m.chunkCount,
            chunkSize: m.chunkSize,
            maxChunksInFlight: input.realtime.maxChunksInFlight,
            maxAttempts: input.realtime.maxAttempts,
            priority,
            tenant: input.tenant,
            cache: false,
          },
        ],
      });
      children.set(e.plan.index, { handle, realtime: true });
      if (cancelRequested) tell(e.plan.index, 'cancel');
      else if (paused) tell(e.plan.index, 'pause');
      try {
        await handle.result();
      } finally {
        children.delete(e.plan.index);
      }
    }
    // Also after a cancel: what the fallback finished belongs to the batch.
    e.summary = await mergeRealtimeFallback({ batchId: input.batchId, plan: e.plan, fallbackBatchId });
  };

  /**
   * Auto mode with a deadline: provider batches still running when only the realtime reserve is left
   * would miss it. Cancel them (what finished is collected) and run every item left in realtime.
   */
  const watchDeadline = (switchAtMs: number): void => {
    const finished = (): boolean => cancelRequested || (queue.length === 0 && running === 0);
    void condition(finished, Math.max(0, switchAtMs - Date.now())).then((ended) => {
      if (ended) return;
      deadlineSwitch = true;
      modeReason = `${modeReason ?? 'native'}; at ${new Date(switchAtMs).toISOString()} the deadline was too near for the provider's window: the rest runs in realtime`;
      log.info('deadline near: switching the rest to realtime', { batchId: input.batchId });
      for (const [index, child] of children) if (!child.realtime) tell(index, 'cancel');
    });
  };

  const start = (index: number): void => {
    const e = entries[index] as ProviderBatchEntry;
    e.state = 'running';
    running += 1;
    void (deadlineSwitch ? runRealtime(e) : runProviderBatch(e))
      .catch((err: unknown) => {
        failure ??= err; // e.g. the provider rejected our key: stop everything
        requestCancel();
      })
      .finally(() => {
        running -= 1;
        if (e.state !== 'queued') e.state = 'done';
      });
  };

  return CancellationScope.nonCancellable(async (): Promise<NativeBatchResult> => {
    const plans = await planProviderBatches({
      batchId: input.batchId,
      chunkCount: input.chunkCount,
      limits: input.limits,
    });
    for (const plan of plans) {
      entries.push({ plan, round: 0, state: 'queued', workflowId: null, last: null, summary: null });
      queue.push(plan.index);
    }
    log.info('native batch planned', { batchId: input.batchId, providerBatches: plans.length });
    if (input.deadlineMs !== undefined) watchDeadline(input.deadlineMs - input.realtimeReserveMs);

    for (;;) {
      await condition(
        () =>
          cancelRequested ||
          (queue.length === 0 && running === 0) ||
          (!paused && queue.length > 0 && running < input.maxInFlight),
      );
      if (cancelRequested || queue.length === 0) break;
      start(queue.shift() as number);
    }
    await condition(() => running === 0);

    finalStatus = failure !== undefined ? 'failed' : cancelRequested ? 'cancelled' : 'completed';
    const { expiryPolicy: _e, providerBatches: _p, ...base } = progress();
    if (failure !== undefined) base.error = failureReason(failure);
    // Results reach the batch only through the store, so its counts are the final word (recount); the
    // outcome goes to the store too, where the API reads a finished batch without Temporal.
    const outcome = await finishBatch({
      progress: base,
      chunkCount: input.chunkCount,
      recount: true,
      price: input.price,
    });
    finalSummary = {
      succeeded: outcome.succeeded,
      failed: outcome.failed,
      tokensIn: outcome.tokensIn,
      tokensOut: outcome.tokensOut,
    };
    // Expired: items the provider's window ran out on are among the dead letters.
    const expired = outcome.failed > 0 && entries.some((e) => e.last?.status === 'expired');
    await notify(input, endEvent(finalStatus, expired), eventData(outcome));
    if (failure !== undefined) throw failure;
    return progress();
  });
}
