/**
 * The chunk activity: one attempt at a chunk's pending items (ChunkAttempt, in chunk.ts), timed and counted
 * in the metrics and logs; Temporal retries what the attempt left pending.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChunkOutcome } from '../metrics/workerMetrics';
import { ChunkAttempt, type ChunkDeps, type ChunkInput } from './chunk';
import { ChunkLog } from './chunkLog';
import { openPipelineChunk } from './pipelineItem';
import type { ChunkResult } from './chunkSummary';

/** How an attempt that threw ended, for the metrics: Temporal retries all but a non-retryable failure. */
function thrownOutcome(err: unknown, signal: AbortSignal): ChunkOutcome {
  if (signal.aborted) return 'cancelled';
  return err instanceof ApplicationFailure && err.nonRetryable ? 'failed' : 'retry';
}

async function runAttempt(deps: ChunkDeps, input: ChunkInput, ctx: Context, log: ChunkLog): Promise<ChunkResult> {
  const { batchId, chunk } = input;
  const [lines, recorded, failures] = await Promise.all([
    deps.store.getChunk(batchId, chunk),
    deps.store.getChunkResults(batchId, chunk),
    deps.store.getFailureCounts(batchId, chunk),
  ]);
  const [writer, steps] = await Promise.all([
    deps.store.openResults(batchId, chunk),
    input.pipeline ? openPipelineChunk(deps.store, batchId, chunk) : undefined,
  ]);
  log.watch(lines.length, recorded);
  const attempt = new ChunkAttempt(deps, input, ctx, { lines, recorded, failures, writer, steps }, log);
  await attempt.run();
  return attempt.outcome();
}

export async function processChunk(deps: ChunkDeps, input: ChunkInput): Promise<ChunkResult> {
  const ctx = Context.current();
  const { info } = ctx;
  const metrics = deps.metrics.chunkStarted({
    tenant: input.tenant,
    taskQueue: info.taskQueue,
    attempt: info.attempt,
    scheduledAtMs: info.currentAttemptScheduledTimestampMs,
  });
  const log = new ChunkLog(ctx, { batchId: input.batchId, chunk: input.chunk, tenant: input.tenant });
  try {
    const result = await runAttempt(deps, input, ctx, log);
    metrics.ended('completed');
    log.ended('completed');
    return result;
  } catch (err) {
    const outcome = thrownOutcome(err, ctx.cancellationSignal);
    metrics.ended(outcome);
    log.ended(outcome, err);
    throw err;
  }
}
