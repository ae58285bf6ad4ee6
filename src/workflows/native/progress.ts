/** The native batch's progress, from its entries (or, once ended, the store's counts). Workflow time only. */
import { costUsd, type BatchProgress } from '../../shared/contracts';
import type { NativeProgress } from '../../shared/native';
import type { NativeRun, NativeState } from './types';

export function nativeStatus(state: NativeState): BatchProgress['status'] {
  if (state.finalStatus) return state.finalStatus;
  if (state.cancelRequested) return 'cancelled';
  return state.paused ? 'paused' : state.scheduled ? 'scheduled' : 'running';
}

/** Counts and tokens: the store's once the batch has ended, else the sum of the entries' summaries. */
function totals(state: NativeState): NonNullable<NativeState['finalSummary']> {
  if (state.finalSummary) return state.finalSummary;
  const t = { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, repaired: 0, invalidOutput: 0 };
  for (const e of state.entries) {
    t.succeeded += e.summary?.succeeded ?? 0;
    t.failed += e.summary?.failed ?? 0;
    t.tokensIn += e.summary?.tokensIn ?? 0;
    t.tokensOut += e.summary?.tokensOut ?? 0;
    // Structured outputs: what each plan's realtime fallback repaired, once merged back.
    t.repaired += e.summary?.repaired ?? 0;
    t.invalidOutput += e.summary?.invalidOutput ?? 0;
  }
  return t;
}

export function nativeProgress({ input, state }: NativeRun): NativeProgress {
  const { repaired = 0, invalidOutput = 0, ...t } = totals(state);
  const inFlight = state.entries.filter((e) => e.state === 'running' || e.state === 'realtime');
  const done = t.succeeded + t.failed;
  const nowMs = Date.now();
  const elapsed = Math.max(0.001, (nowMs - Date.parse(state.startedAt)) / 1000);
  const base: BatchProgress = {
    batchId: input.batchId,
    status: nativeStatus(state),
    total: input.total,
    ...t,
    // Native batches do not use the response cache (README: Response cache).
    cacheHits: 0,
    repaired,
    invalidOutput,
    pending: Math.max(0, input.total - done),
    // In native mode these count provider batches (and realtime fallbacks) in flight and their lines.
    chunksInFlight: inFlight.length,
    itemsInFlight: inFlight.reduce((n, e) => n + e.plan.lines, 0),
    priority: state.priority,
    maxChunksInFlight: input.maxInFlight,
    startedAt: state.startedAt,
    updatedAt: new Date(nowMs).toISOString(),
    ratePerSecond: Math.round((done / elapsed) * 10) / 10,
    // Provider batches finish in bursts within their window: a rate-based ETA would mislead.
    eta: null,
    runs: 1,
    // Provider batches are not rate-limited by our task-queue lanes (the provider paces them).
    lane: null,
    mode: 'native',
    modeReason: state.modeReason,
    // Results that came through a realtime fallback paid full price: this is a lower bound then.
    costUsd: costUsd(input.price, t.tokensIn, t.tokensOut, 'native'),
    ...(input.notBeforeMs !== undefined ? { notBefore: new Date(input.notBeforeMs).toISOString() } : {}),
  };
  return { ...base, mode: 'native', expiryPolicy: input.expiryPolicy, providerBatches: state.entries };
}

/** The progress every batch answers (the `progress` query, the stored outcome): without the per-plan entries. */
export function batchProgress(run: NativeRun): BatchProgress {
  const { expiryPolicy: _e, providerBatches: _p, ...base } = nativeProgress(run);
  return base;
}
