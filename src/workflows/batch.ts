/**
 * BatchWorkflow: one per batch (id `batch-<id>`). Keeps a sliding window of
 * chunk activities in flight and holds only counters; bodies stay in the store.
 * Pause cancels in-flight chunks (their finished items stay recorded) and
 * re-runs them on resume; the activity skips what is recorded.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelSignal,
  costUsd,
  DEFAULT_PRIORITY,
  pauseSignal,
  PrioritySchema,
  progressQuery,
  resumeSignal,
  setConcurrencySignal,
  setPrioritySignal,
  type BatchCarry,
  type BatchStatus,
  type BatchWorkflowInput,
  type BatchWorkflowResult,
} from '../shared/contracts';
import { failureReason } from './failures';
import { endEvent, eventData, notify } from './notify';
import { buildProgress } from './progress';

const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_CHUNKS_IN_FLIGHT = 10_000;
/** Roll over well before Temporal's 10,240-event warning even if the server does not suggest it. */
const HISTORY_EVENTS_LIMIT = 8_000;

function chunkActivities(priorityKey: number, input: BatchWorkflowInput) {
  return proxyActivities<Activities>({
    // A lane's own queue carries its server-side rate limit; otherwise the workflow's queue.
    taskQueue: input.lane?.taskQueue,
    startToCloseTimeout: '15 minutes',
    // Heartbeats flush every second (worker setting), so 10 s without one means the worker is gone.
    heartbeatTimeout: '10 seconds',
    // Settle only once the activity has stopped, so counts and re-runs see its last writes.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // No attempt limit: a chunk runs until each of its items is settled. Items count their own transient
    // failures against maxAttempts (see processChunk), so a killed worker or a lost heartbeat spends none.
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
    priority: { priorityKey, fairnessKey: input.tenant },
  });
}

const { finishBatch } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes' });

function initialState(input: BatchWorkflowInput): BatchCarry {
  return {
    nextChunk: 0,
    requeued: [],
    succeeded: 0,
    failed: 0,
    tokensIn: 0,
    tokensOut: 0,
    cacheHits: 0,
    paused: false,
    priority: input.priority ?? DEFAULT_PRIORITY,
    maxChunksInFlight: input.maxChunksInFlight,
    startedAt: new Date().toISOString(),
    runs: 1,
  };
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchWorkflowResult> {
  const state = input.carry ?? initialState(input);
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const inFlight = new Map<number, CancellationScope>();
  let cancelRequested = false;
  let failure: unknown;
  let finalStatus: BatchStatus | undefined = undefined;

  const status = (): BatchStatus =>
    finalStatus ?? (cancelRequested ? 'cancelled' : state.paused ? 'paused' : 'running');
  const cancelInFlight = (): void => inFlight.forEach((scope) => scope.cancel());
  setHandler(progressQuery, () => buildProgress(input, state, inFlight.keys(), status(), Date.now()));
  setHandler(cancelSignal, () => {
    cancelRequested = true;
    cancelInFlight();
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
    state.pauseReason = undefined;
    cancelInFlight(); // stops provider calls now; the chunks are re-run on resume
  });
  setHandler(resumeSignal, () => {
    if (state.pauseReason === 'budget') state.budgetLifted = true; // resuming accepts the spend
    state.paused = false;
    state.pauseReason = undefined;
  });
  setHandler(setPrioritySignal, (priority) => {
    if (PrioritySchema.safeParse(priority).success) state.priority = priority;
    else log.warn('setPriority ignored: expected a whole number from 1 to 5', { priority });
  });
  setHandler(setConcurrencySignal, (n) => {
    if (Number.isInteger(n) && n >= 1 && n <= MAX_CHUNKS_IN_FLIGHT) state.maxChunksInFlight = n;
    else log.warn(`setConcurrency ignored: expected a whole number from 1 to ${MAX_CHUNKS_IN_FLIGHT}`, { n });
  });

  const stopping = (): boolean => cancelRequested || failure !== undefined;
  const hasWork = (): boolean => state.requeued.length > 0 || state.nextChunk < input.chunkCount;
  const historyLimit = input.historyEventsLimit ?? HISTORY_EVENTS_LIMIT;
  const rollover = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;
  const canSchedule = (): boolean =>
    !stopping() && !state.paused && !rollover() && hasWork() && inFlight.size < state.maxChunksInFlight;

  /** Pauses the batch (and says so by webhook) once its estimated cost reaches its budget. */
  const pauseIfOverBudget = async (): Promise<void> => {
    const cost = costUsd(input.price, state.tokensIn, state.tokensOut, 'realtime');
    if (
      input.budgetUsd === undefined ||
      cost === null ||
      cost < input.budgetUsd ||
      state.paused ||
      state.budgetLifted ||
      stopping()
    )
      return;
    state.paused = true;
    state.pauseReason = 'budget';
    state.budgetPauses = (state.budgetPauses ?? 0) + 1;
    cancelInFlight();
    const reason = `the estimated cost ${cost} USD reached the budget of ${input.budgetUsd} USD`;
    log.info('paused for budget', { batchId: input.batchId, cost, budgetUsd: input.budgetUsd });
    await notify(
      input,
      'batch.paused',
      eventData(buildProgress(input, state, inFlight.keys(), 'paused', Date.now()), reason),
      state.budgetPauses,
    );
  };

  const startChunk = (chunk: number): void => {
    const scope = new CancellationScope();
    inFlight.set(chunk, scope);
    const { processChunk } = chunkActivities(state.priority, input);
    void scope
      .run(() => processChunk({ batchId: input.batchId, chunk, maxAttempts, cache: input.cache, tenant: input.tenant }))
      .then(
        async (r) => {
          state.succeeded += r.succeeded;
          state.failed += r.failed;
          state.tokensIn += r.tokensIn;
          state.tokensOut += r.tokensOut;
          // Absent from the results of activities older than the cache.
          state.cacheHits = (state.cacheHits ?? 0) + (r.cacheHits ?? 0);
          await pauseIfOverBudget();
        },
        (err: unknown) => {
          if (!isCancellation(err)) {
            failure ??= err; // e.g. the provider rejected our key: fail fast
            cancelInFlight();
          } else if (!cancelRequested) state.requeued.push(chunk); // paused: run the rest later
        },
      )
      .finally(() => inFlight.delete(chunk));
  };

  for (;;) {
    await condition(() => canSchedule() || stopping() || (inFlight.size === 0 && (!hasWork() || rollover())));
    if (!canSchedule()) break;
    startChunk(state.requeued.shift() ?? state.nextChunk++);
  }
  // Wait until every chunk has finished or acknowledged its cancel.
  await condition(() => inFlight.size === 0);

  if (!stopping() && hasWork()) {
    // History is getting long: start a fresh run with the counters (never the bodies).
    await condition(allHandlersFinished);
    return continueAsNew<typeof batchWorkflow>({ ...input, carry: { ...state, runs: state.runs + 1 } });
  }

  finalStatus = failure !== undefined ? 'failed' : cancelRequested ? 'cancelled' : 'completed';
  const progress = buildProgress(input, state, [], finalStatus, Date.now());
  if (failure !== undefined) progress.error = failureReason(failure);
  // The outcome goes to the store, so reading a finished batch needs no workflow query (a replay).
  const outcome = await finishBatch({
    progress,
    chunkCount: input.chunkCount,
    recount: finalStatus !== 'completed',
    price: input.price,
  });
  Object.assign(state, {
    succeeded: outcome.succeeded,
    failed: outcome.failed,
    tokensIn: outcome.tokensIn,
    tokensOut: outcome.tokensOut,
    cacheHits: outcome.cacheHits,
  });
  await notify(input, endEvent(finalStatus), eventData(outcome));
  if (failure !== undefined) throw failure;
  return outcome;
}
