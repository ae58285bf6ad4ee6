/**
 * providerBatchWorkflow: one provider batch (id `batch-<id>-pb-<k>[-r<n>]`). Uploads the plan's pending
 * lines, creates the provider batch (idempotently), waits for a terminal status, collects the output and
 * error files into the store. History is 29 events (start, upload, create, the terminal poll, collect, end)
 * plus 6 per progress report; a report comes only after `reportEvery` (≥ 3) polls, and the waits between
 * polls are Temporal retry timers, which cost no events: at most 2 events per poll. (Workflow timers could
 * not do that: each sleep alone costs 5 events.)
 */
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { NativeActivities, PollReport } from '../activities/native';
import {
  cancelProviderBatchSignal,
  isTerminalStatus,
  NativeFailureType,
  providerBatchProgressQuery,
  type PollPolicy,
  type ProviderBatchInput,
  type ProviderBatchProgress,
  type ProviderBatchResult,
} from '../shared/native';

const NON_RETRYABLE = ['ProviderAuthError', NativeFailureType.ProviderBatchRejected, NativeFailureType.ChunkTooLarge];

/** The child's activities, on `taskQueue` (the native queue; absent: the workflow's own). */
function stepActivities(taskQueue: string | undefined) {
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

/** The poll's retry policy is the wait between polls: unlimited attempts, the backoff set per attempt by nextRetryDelay. */
function pollActivity(policy: PollPolicy, taskQueue: string | undefined) {
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

export async function providerBatchWorkflow(input: ProviderBatchInput): Promise<ProviderBatchResult> {
  const { workflowId } = workflowInfo();
  const { batchId, plan } = input;
  const { uploadProviderBatchInput, createProviderBatch, cancelProviderBatch, collectProviderBatch } = stepActivities(
    input.activityTaskQueue,
  );
  const state: ProviderBatchProgress = {
    workflowId,
    index: plan.index,
    round: input.round,
    providerBatchId: null,
    status: 'uploading',
    lines: plan.lines,
    requestCounts: { total: 0, completed: 0, failed: 0 },
    polls: 0,
    cancelRequested: false,
  };
  let pollScope: CancellationScope | undefined;
  const requestCancel = (): void => {
    state.cancelRequested = true;
    pollScope?.cancel();
  };
  setHandler(providerBatchProgressQuery, () => state);
  setHandler(cancelProviderBatchSignal, requestCancel);
  // A Temporal cancel (parent closed, `temporal workflow cancel`) means the same as the signal. The body runs
  // uncancellable so that it can still cancel the provider batch and collect what finished.
  void CancellationScope.current().cancelRequested.catch(requestCancel);

  return CancellationScope.nonCancellable(async (): Promise<ProviderBatchResult> => {
    const done = (
      status: ProviderBatchResult['status'],
      summary: ProviderBatchResult['summary'] = null,
      error: string | null = null,
    ): ProviderBatchResult => ({
      ...state,
      status,
      summary,
      error,
    });
    if (state.cancelRequested) return done('not_submitted');
    const upload = await uploadProviderBatchInput({ batchId, plan, workflowId, limits: input.limits });
    if (upload.fileId === null)
      return done('empty', { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, remaining: 0 });
    state.lines = upload.lines;
    if (state.cancelRequested) return done('not_submitted');

    state.status = 'creating';
    const created = await createProviderBatch({
      batchId,
      workflowId,
      fileId: upload.fileId,
      endpoint: plan.endpoint,
      notBefore: upload.createdAt,
    });
    state.providerBatchId = created.providerBatchId;
    state.status = created.status;

    const poll = pollActivity(input.poll, input.activityTaskQueue);
    let report: PollReport | undefined;
    let cancelSent = false;
    let rampPolls = 0;
    let deferFirst = false;
    while (report === undefined || !isTerminalStatus(report.status)) {
      if (state.cancelRequested && !cancelSent) {
        state.status = (await cancelProviderBatch({ providerBatchId: created.providerBatchId })).status;
        cancelSent = true;
        // Cancelling takes its own time (up to 10 min on OpenAI): poll now, then ramp up again.
        rampPolls = 0;
        deferFirst = false;
      }
      const scope = new CancellationScope();
      pollScope = scope;
      const last = report
        ? { status: report.status, completed: report.requestCounts.completed, failed: report.requestCounts.failed }
        : null;
      try {
        report = await scope.run(() =>
          poll({ providerBatchId: created.providerBatchId, policy: input.poll, rampPolls, deferFirst, last }),
        );
      } catch (err) {
        if (isCancellation(err) && state.cancelRequested) continue; // cancel arrived while waiting: send it now
        throw err;
      } finally {
        pollScope = undefined;
      }
      rampPolls += report.polls;
      state.polls += report.polls;
      state.status = report.status;
      state.requestCounts = report.requestCounts;
      deferFirst = true;
    }

    const summary = await collectProviderBatch({
      batchId,
      plan,
      outputFileId: report.outputFileId,
      errorFileId: report.errorFileId,
      recordRetryable: input.finalRound && report.status !== 'cancelled',
    });
    return done(report.status, summary, report.error);
  });
}
