/**
 * providerBatchWorkflow: one provider batch (id `batch-<id>-pb-<k>[-r<n>]`). Uploads the plan's pending
 * lines, creates the provider batch (idempotently), waits for a terminal status, collects the output and
 * error files into the store. History is 29 events (start, upload, create, the terminal poll, collect, end)
 * plus 6 per progress report; a report comes only after `reportEvery` (≥ 3) polls, and the waits between
 * polls are Temporal retry timers, which cost no events: at most 2 events per poll. (Workflow timers could
 * not do that: each sleep alone costs 5 events.)
 */
import { CancellationScope, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  cancelProviderBatchSignal,
  providerBatchProgressQuery,
  type ProviderBatchInput,
  type ProviderBatchProgress,
  type ProviderBatchResult,
} from '../../shared/native';
import { stepActivities } from './activityProxies';
import { ProviderBatchPoller } from './poller';

function initialProgress(workflowId: string, input: ProviderBatchInput): ProviderBatchProgress {
  return {
    workflowId,
    index: input.plan.index,
    round: input.round,
    providerBatchId: null,
    status: 'uploading',
    lines: input.plan.lines,
    requestCounts: { total: 0, completed: 0, failed: 0 },
    polls: 0,
    cancelRequested: false,
  };
}

export async function providerBatchWorkflow(input: ProviderBatchInput): Promise<ProviderBatchResult> {
  const { workflowId } = workflowInfo();
  const { batchId, plan } = input;
  const { uploadProviderBatchInput, createProviderBatch, cancelProviderBatch, collectProviderBatch } = stepActivities(
    input.activityTaskQueue,
  );
  const state = initialProgress(workflowId, input);
  let poller: ProviderBatchPoller | undefined;
  const requestCancel = (): void => {
    state.cancelRequested = true;
    poller?.interrupt();
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
    ): ProviderBatchResult => ({ ...state, status, summary, error });
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

    poller = new ProviderBatchPoller(input, state, created.providerBatchId, cancelProviderBatch);
    const report = await poller.untilTerminal();
    const summary = await collectProviderBatch({
      batchId,
      plan,
      outputFileId: report.outputFileId,
      errorFileId: report.errorFileId,
      recordRetryable: input.finalRound && report.status !== 'cancelled',
      tenant: input.tenant,
      price: input.price,
    });
    return done(report.status, summary, report.error);
  });
}
