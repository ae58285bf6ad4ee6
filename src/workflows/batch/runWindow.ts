/**
 * Run windows (options.window): chunks run only inside the batch's daily window. At each close the batch pauses
 * as on a pause signal (chunks in flight are cancelled and re-run later; finished items stay recorded) with
 * reason `window`; at each open it resumes, unless someone paused it meanwhile. Each open and close is a durable
 * timer, so the time-skipping server can skip them.
 */
import { condition, log } from '@temporalio/workflow';
import { runWindowAt, type RunWindow } from '../../shared/runWindow';
import type { BatchRun } from './run';

/** Follows the window until the batch stops; started once the batch may run (after its notBefore). */
export async function followRunWindow(run: BatchRun, window: RunWindow): Promise<void> {
  while (!run.stopping()) {
    const now = Date.now();
    const { open, opensAt, closesAt } = runWindowAt(window, now);
    if (open) reopen(run, closesAt);
    else close(run, opensAt);
    await condition(() => run.stopping(), (open ? closesAt : opensAt) - now);
  }
}

function close(run: BatchRun, opensAt: number): void {
  const { state, input } = run;
  if (state.paused) return; // paused already, by a signal or its budget: that pause stands
  state.paused = true;
  state.pauseReason = 'window';
  run.cancelInFlight();
  const ids = { batchId: input.batchId, tenant: input.tenant, mode: 'realtime' };
  log.info('batch paused: its run window closed', { ...ids, opensAt: new Date(opensAt).toISOString() });
  run.show();
}

function reopen(run: BatchRun, closesAt: number): void {
  const { state, input } = run;
  if (!state.paused || state.pauseReason !== 'window') return;
  state.paused = false;
  state.pauseReason = undefined;
  const ids = { batchId: input.batchId, tenant: input.tenant, mode: 'realtime' };
  log.info('batch resumed: its run window opened', { ...ids, closesAt: new Date(closesAt).toISOString() });
  run.show();
}
