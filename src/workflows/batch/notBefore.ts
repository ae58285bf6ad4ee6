/**
 * Start later (options.notBefore): the batch's workflow exists from the submit (so GET /batches/:id, the
 * listing, cancel and the quotas see it) and waits on a durable timer, which the time-skipping test server can
 * skip, before it schedules any chunk. Its status is `scheduled` meanwhile; a cancel ends the wait at once, with
 * nothing run. A pause while scheduled is remembered: at its time the batch starts paused.
 */
import { condition, log } from '@temporalio/workflow';
import type { BatchRun } from './run';

/** Waits until the batch's notBefore time, or until it is cancelled; a time in the past starts it at once. */
export async function awaitNotBefore(run: BatchRun): Promise<void> {
  const { input, state } = run;
  // Set at the start when the time is ahead (a continued-as-new run has started already).
  if (!run.scheduled || input.notBeforeMs === undefined) return;
  const waitMs = input.notBeforeMs - Date.now();
  const ids = { batchId: input.batchId, tenant: input.tenant, mode: 'realtime' };
  log.info('batch scheduled', { ...ids, notBefore: new Date(input.notBeforeMs).toISOString() });
  await condition(() => run.stopping(), waitMs);
  run.scheduled = false;
  if (run.stopping()) return;
  // The rate and the ETA count from the start of the work, not from the submit.
  state.startedAt = new Date().toISOString();
  log.info('batch starts: its notBefore time has come', ids);
  run.show();
}
