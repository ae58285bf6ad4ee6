/** Activities are built by a factory that takes their clients; tests pass fakes. */
import type OpenAI from 'openai';
import type { BatchStore } from '../storage/types';
import { Sema } from 'async-sema';
import { LaneRegistry, type LaneLimits } from './lanes';
import { processChunk, summarizeChunk, type ChunkInput, type ChunkResult } from './chunk';

export interface ActivityDeps {
  openai: OpenAI;
  store: BatchStore;
  config: { itemConcurrency: number; requestConcurrency: number; laneLimits?: LaneLimits };
}

export type BatchSummary = Omit<ChunkResult, 'chunk'>;

export function createActivities({ openai, store, config }: ActivityDeps) {
  // One registry per worker process: every chunk activity shares each lane's pauses and budget.
  const lanes = new LaneRegistry(config.laneLimits);
  // Requests in flight across all chunks of this process: a chunk's last, slow items no longer leave
  // slots idle, because the items of other chunks take them.
  const requestSlots = new Sema(config.requestConcurrency);
  return {
    async processChunk(input: ChunkInput): Promise<ChunkResult> {
      return processChunk({ openai, store, lanes, requestSlots, itemConcurrency: config.itemConcurrency }, input);
    },
    /** Counts what the store holds: the final word on a batch, whatever was retried or cancelled. */
    async summarizeBatch({ batchId, chunkCount }: { batchId: string; chunkCount: number }): Promise<BatchSummary> {
      const total: BatchSummary = { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0 };
      for (let chunk = 0; chunk < chunkCount; chunk++) {
        const s = summarizeChunk(chunk, [...(await store.getChunkResults(batchId, chunk)).values()]);
        total.succeeded += s.succeeded;
        total.failed += s.failed;
        total.tokensIn += s.tokensIn;
        total.tokensOut += s.tokensOut;
      }
      return total;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ChunkInput, ChunkResult };
