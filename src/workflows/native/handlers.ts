/** The native workflow's signals and queries, and how the controls reach its children. */
import { CancellationScope, log, setHandler } from '@temporalio/workflow';
import {
  cancelSignal,
  pauseSignal,
  PrioritySchema,
  progressQuery,
  resumeSignal,
  setPrioritySignal,
} from '../../shared/contracts';
import { cancelProviderBatchSignal, nativeProgressQuery } from '../../shared/native';
import { showProgress } from '../visibility';
import { batchProgress, nativeProgress, nativeStatus } from './progress';
import type { NativeRun, NativeState } from './types';

export type ChildControl = 'cancel' | 'pause' | 'resume';

/** Signals a child; one that has just finished cannot take it, and that is fine. */
export function tell(state: NativeState, index: number, what: ChildControl): void {
  const child = state.children.get(index);
  if (!child) return;
  // A provider batch can only be cancelled; a realtime fallback takes the batch's own controls.
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
}

/** Nothing more starts; every running child is asked to cancel. */
export function requestCancel(state: NativeState): void {
  state.cancelRequested = true;
  state.queue.length = 0;
  for (const index of state.children.keys()) tell(state, index, 'cancel');
}

/** The live counts to the Web UI's current details, and the status and priority to the search attributes. */
export function show(run: NativeRun): void {
  showProgress(batchProgress(run));
  run.visibility.sync(nativeStatus(run.state), run.state.priority);
}

export function setNativeHandlers(run: NativeRun): void {
  const { state } = run;
  setHandler(nativeProgressQuery, () => nativeProgress(run));
  setHandler(progressQuery, () => batchProgress(run));
  setHandler(cancelSignal, () => {
    requestCancel(state);
    log.info('batch cancel requested', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'native' });
    show(run);
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
    for (const index of state.children.keys()) tell(state, index, 'pause');
    log.info('batch paused', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'native' });
    show(run);
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    for (const index of state.children.keys()) tell(state, index, 'resume');
    log.info('batch resumed', { batchId: run.input.batchId, tenant: run.input.tenant, mode: 'native' });
    show(run);
  });
  setHandler(setPrioritySignal, (p) => {
    if (PrioritySchema.safeParse(p).success) state.priority = p;
    else log.warn('setPriority ignored: expected a whole number from 1 to 5', { p });
    show(run);
  });
  // A Temporal cancel means the same as the signal; the body runs uncancellable so it can wind down.
  void CancellationScope.current().cancelRequested.catch(() => {
    requestCancel(state);
    show(run);
  });
}
