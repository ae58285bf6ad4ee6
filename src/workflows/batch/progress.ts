/** Progress arithmetic, kept apart from the workflow's control flow. Deterministic: uses workflow time only. */
import {
  costUsd,
  type BatchCarry,
  type BatchProgress,
  type BatchWorkflowInput,
  type RunWindowView,
} from '../../shared/contracts';
import { runWindowAt, type RunWindow } from '../../shared/runWindow';

export function chunkLength(input: BatchWorkflowInput, chunk: number): number {
  return Math.max(0, Math.min(input.chunkSize, input.total - chunk * input.chunkSize));
}

export function buildProgress(
  input: BatchWorkflowInput,
  state: BatchCarry,
  inFlight: Iterable<number>,
  status: BatchProgress['status'],
  nowMs: number,
): BatchProgress {
  const chunks = [...inFlight];
  const done = state.succeeded + state.failed;
  const elapsedSeconds = Math.max(0.001, (nowMs - Date.parse(state.startedAt)) / 1000);
  const ratePerSecond = done / elapsedSeconds;
  const pending = input.total - done;
  const eta =
    status === 'running' && ratePerSecond > 0 && pending > 0
      ? new Date(nowMs + (pending / ratePerSecond) * 1000).toISOString()
      : null;
  return {
    batchId: input.batchId,
    status,
    total: input.total,
    succeeded: state.succeeded,
    failed: state.failed,
    pending,
    chunksInFlight: chunks.length,
    itemsInFlight: chunks.reduce((n, c) => n + chunkLength(input, c), 0),
    priority: state.priority,
    maxChunksInFlight: state.maxChunksInFlight,
    tokensIn: state.tokensIn,
    tokensOut: state.tokensOut,
    cacheHits: state.cacheHits ?? 0,
    repaired: state.repaired ?? 0,
    invalidOutput: state.invalidOutput ?? 0,
    ...(state.steps ? { steps: state.steps } : {}),
    startedAt: state.startedAt,
    updatedAt: new Date(nowMs).toISOString(),
    ratePerSecond: Math.round(ratePerSecond * 10) / 10,
    eta,
    runs: state.runs,
    lane: input.lane ?? null,
    mode: 'realtime',
    modeReason: input.modeReason ?? null,
    costUsd: costUsd(input.price, state.tokensIn, state.tokensOut, 'realtime'),
    ...(status === 'paused' && state.pauseReason ? { pauseReason: state.pauseReason } : {}),
    ...(input.budgetUsd !== undefined ? { budgetUsd: input.budgetUsd } : {}),
    ...(input.notBeforeMs !== undefined ? { notBefore: new Date(input.notBeforeMs).toISOString() } : {}),
    ...(input.window ? { window: runWindowView(input.window, nowMs) } : {}),
  };
}

function runWindowView(window: RunWindow, nowMs: number): RunWindowView {
  const { open, opensAt, closesAt } = runWindowAt(window, nowMs);
  return { ...window, open, opensAt: new Date(opensAt).toISOString(), closesAt: new Date(closesAt).toISOString() };
}
