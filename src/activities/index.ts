/** Activities are built by a factory that takes their clients; tests pass fakes. */
import type OpenAI from 'openai';
import { costUsd, type BatchProgress, type ModelPrice, type RateLimits } from '../shared/contracts';
import { isRealtimeFallbackBatchId } from '../shared/native';
import type { BatchStore } from '../storage/types';
import { Sema } from 'async-sema';
import { LaneRegistry } from './lanes';
import type { ChunkInput } from './chunk';
import { processChunk } from './chunkActivity';
import { summarizeChunk, type ChunkResult } from './chunkSummary';
import { addCounts, emptyCounts } from '../shared/counts';
import { OutputValidator } from '../shared/structuredOutput';
import { reopenDeadLetters } from './reopen';
import type { ReopenDeadLettersInput, ReopenedDeadLetters } from '../shared/retry';
import { Context } from '@temporalio/activity';
import type { CacheDeps } from './chunkCache';
import { NO_WORKER_METRICS, type WorkerMetrics } from '../metrics/workerMetrics';

export interface ActivityDeps {
  openai: OpenAI;
  store: BatchStore;
  config: {
    itemConcurrency: number;
    requestConcurrency: number;
    /**
     * Per-process limits of each (endpoint, model) lane (LLMBATCH_LANE_RPM/TPM); the provider's headers pace
     * within them. A queue's configured limit is not applied here: the server holds it across workers, and
     * it may be raised at runtime (PUT /lanes/limits), which a per-process copy would not follow.
     */
    laneLimits?: RateLimits;
  };
  /** The response cache across batches and its TTL; absent, every line goes to the provider. */
  responseCache?: CacheDeps;
  /** Told when the provider states a new limit for an (endpoint, model) (the worker shares it through Temporal). */
  onLearnedLimits?: (endpoint: string, model: string, limits: RateLimits) => void;
  /** Where items, provider calls and chunks are counted; absent (tests, metrics off): nowhere. */
  metrics?: WorkerMetrics;
}

export interface FinishBatchInput {
  progress: BatchProgress;
  chunkCount: number;
  recount: boolean;
  /** The model's price, to cost the recounted tokens. */
  price?: ModelPrice;
  /** The batch's tenant, for the metrics. */
  tenant?: string;
}

async function countStored(store: BatchStore, progress: BatchProgress, chunkCount: number) {
  const counts = { ...emptyCounts(), repaired: 0, invalidOutput: 0 };
  for (let chunk = 0; chunk < chunkCount; chunk++)
    addCounts(counts, summarizeChunk(chunk, [...(await store.getChunkResults(progress.batchId, chunk)).values()]));
  return { ...counts, pending: progress.total - counts.succeeded - counts.failed };
}

export function createActivities(deps: ActivityDeps) {
  const { openai, store, config, responseCache, onLearnedLimits, metrics = NO_WORKER_METRICS } = deps;
  // One registry per worker process: every chunk activity shares each lane's pauses and budget.
  const lanes = new LaneRegistry(config.laneLimits, onLearnedLimits);
  // Requests in flight across all chunks of this process: a chunk's last, slow items no longer leave
  // slots idle, because the items of other chunks take them.
  const requestSlots = new Sema(config.requestConcurrency);
  const validator = new OutputValidator();
  return {
    async processChunk(input: ChunkInput): Promise<ChunkResult> {
      return processChunk(
        {
          openai,
          store,
          lanes,
          requestSlots,
          itemConcurrency: config.itemConcurrency,
          responseCache,
          metrics,
          validator,
        },
        input,
      );
    },
    /**
     * Records the batch's final progress in the store, where the API reads it without Temporal.
     * With `recount`, counts come from what the store holds, the final word after a cancel or a
     * failure, when cancelled attempts recorded results no chunk reported. A batch that completed
     * cleanly has exact counters already (each chunk reported once, for everything it holds), so
     * it skips re-reading every result.
     */
    async finishBatch({ progress, chunkCount, recount, price, tenant }: FinishBatchInput): Promise<BatchProgress> {
      let outcome = progress;
      if (recount) {
        const counts = await countStored(store, progress, chunkCount);
        outcome = { ...progress, ...counts, costUsd: costUsd(price, counts.tokensIn, counts.tokensOut, progress.mode) };
      }
      await store.putOutcome(progress.batchId, outcome);
      // A native batch's realtime fallback is a batch of its own in the store, not one a tenant submitted.
      if (!isRealtimeFallbackBatchId(progress.batchId)) metrics.batchFinished(tenant, outcome.mode, outcome.status);
      return outcome;
    },
    /** The retryDeadLetters signal's store work: the dead letters removed, their chunks to run again. */
    async reopenDeadLetters(input: ReopenDeadLettersInput): Promise<ReopenedDeadLetters> {
      return reopenDeadLetters(store, input, Context.current().info.attempt);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ChunkInput, ChunkResult };
