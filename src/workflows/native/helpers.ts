/** The native workflow's input, initial state and children's options. */
import { ApplicationFailure, ParentClosePolicy } from '@temporalio/workflow';
import { DEFAULT_PRIORITY } from '../../shared/contracts';
import { FailureType } from '../../shared/failures';
import { NativeBatchInputSchema, type NativeBatchInput, type ResolvedNativeBatchInput } from '../../shared/native';
import type { NativeRun, NativeState } from './types';

export function parseInput(raw: NativeBatchInput): ResolvedNativeBatchInput {
  const parsed = NativeBatchInputSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // Failing the workflow (not the task, which would retry forever) names the bad field to the caller.
  throw ApplicationFailure.create({
    type: FailureType.InvalidNativeInput,
    message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    nonRetryable: true,
  });
}

export function initialState(input: ResolvedNativeBatchInput): NativeState {
  return {
    startedAt: new Date().toISOString(),
    entries: [],
    queue: [],
    children: new Map(),
    running: 0,
    paused: false,
    scheduled: input.notBeforeMs !== undefined && input.notBeforeMs > Date.now(),
    cancelRequested: false,
    priority: input.priority ?? DEFAULT_PRIORITY,
    failure: undefined,
    finalStatus: undefined,
    finalSummary: undefined,
    modeReason: input.modeReason,
    deadlineSwitch: false,
  };
}

/** Options every child takes: the batch's current priority and its tenant's fairness key. */
export function childOptions({ input, state }: NativeRun) {
  return {
    // Closing the parent any other way than through its own end asks each child to cancel its provider batch.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    priority: { priorityKey: state.priority, fairnessKey: input.tenant },
  };
}
