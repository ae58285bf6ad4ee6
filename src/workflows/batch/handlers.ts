/**
 * The batch workflow's signals and queries: the controls (pause, resume, cancel, priority, concurrency) and
 * `retryDeadLetters`. Each control that changes the status or the priority shows it at once (run.show).
 */
import { log, setHandler } from '@temporalio/workflow';
import {
  cancelSignal,
  pauseSignal,
  PrioritySchema,
  progressQuery,
  resumeSignal,
  setConcurrencySignal,
  setPrioritySignal,
} from '../../shared/contracts';
import { RETRY_DEAD_LETTERS_DESCRIPTION, retryDeadLettersSignal } from '../../shared/retry';
import type { BatchRun } from './run';

const MAX_CHUNKS_IN_FLIGHT = 10_000;

export function setBatchHandlers(run: BatchRun): void {
  const { state } = run;
  setHandler(progressQuery, () => run.progress());
  setHandler(cancelSignal, () => {
    run.cancelRequested = true;
    run.cancelInFlight();
    log.info('batch cancel requested', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'realtime' });
    run.show();
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
    state.pauseReason = undefined;
    run.cancelInFlight(); // stops provider calls now; the chunks are re-run on resume
    log.info('batch paused', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'realtime' });
    run.show();
  });
  setHandler(resumeSignal, () => {
    if (state.pauseReason === 'budget') state.budgetLifted = true; // resuming accepts the spend
    state.paused = false;
    state.pauseReason = undefined;
    log.info('batch resumed', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'realtime' });
    run.show();
  });
  setHandler(setPrioritySignal, (priority) => {
    if (PrioritySchema.safeParse(priority).success) state.priority = priority;
    else log.warn('setPriority ignored: expected a whole number from 1 to 5', { priority });
    run.show();
  });
  setHandler(setConcurrencySignal, (n) => {
    if (Number.isInteger(n) && n >= 1 && n <= MAX_CHUNKS_IN_FLIGHT) state.maxChunksInFlight = n;
    else log.warn(`setConcurrency ignored: expected a whole number from 1 to ${MAX_CHUNKS_IN_FLIGHT}`, { n });
  });
  setHandler(
    retryDeadLettersSignal,
    () => {
      if (run.retryable) run.retryRequested = true;
      else log.warn('retryDeadLetters ignored: the batch is not a completed one waiting with dead letters');
    },
    { description: RETRY_DEAD_LETTERS_DESCRIPTION },
  );
}
