/** The native workflow's state: one small entry per plan and the controls' flags, never bodies. */
import type { ChildWorkflowHandle } from '@temporalio/workflow';
import type { BatchProgress } from '../../shared/contracts';
import type { ProviderBatchEntry, RangeSummary, ResolvedNativeBatchInput } from '../../shared/native';
import type { batchWorkflow } from '../batch';
import type { providerBatchWorkflow } from '../providerBatch';
import type { Visibility } from '../visibility';
import type { parentActivities } from './activityProxies';

export type Child = ChildWorkflowHandle<typeof providerBatchWorkflow> | ChildWorkflowHandle<typeof batchWorkflow>;

/** A running child of one plan: its provider batch workflow, or (`realtime`) its realtime fallback. */
export interface RunningChild {
  handle: Child;
  realtime: boolean;
}

export interface NativeState {
  startedAt: string;
  /** One per plan, by plan index. */
  entries: ProviderBatchEntry[];
  /** Plan indexes waiting for a slot. */
  queue: number[];
  children: Map<number, RunningChild>;
  /** Plans being worked on (a child running, or its follow-up activities). */
  running: number;
  paused: boolean;
  /** Waiting for its notBefore time: nothing planned or sent yet. */
  scheduled: boolean;
  cancelRequested: boolean;
  priority: number;
  /** What fails the batch (say, the provider rejected our key); set once. */
  failure: unknown;
  finalStatus: BatchProgress['status'] | undefined;
  /** The store's final counts, once the batch has ended. */
  finalSummary: Omit<RangeSummary, 'remaining'> | undefined;
  modeReason: string | null;
  /** Auto mode's deadline is near: provider batches are cancelled and everything left runs in realtime. */
  deadlineSwitch: boolean;
}

/** What the native workflow's helpers work on: its input, its state and its activities. */
export interface NativeRun {
  input: ResolvedNativeBatchInput;
  state: NativeState;
  activities: ReturnType<typeof parentActivities>;
  /** The search attributes and current details the Web UI shows. */
  visibility: Visibility;
}
