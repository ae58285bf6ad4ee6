/** Activities are built by a factory that takes their clients; tests pass fakes. */
import type OpenAI from 'openai';
import type { BatchStore } from '../storage/types';
import { processChunk, type ChunkInput, type ChunkResult } from './chunk';
import { isSuccess } from '../storage/types';

export interface ActivityDeps {
  openai: OpenAI;
  store: BatchStore;
  config: { itemConcurrency: number };
}

export interface BatchSummary {
  succeeded: number;
  failed: number;
}

export function createActivities({ openai, store, config }: ActivityDeps) {
  return {
    async processChunk(input: ChunkInput): Promise<ChunkResult> {
      return processChunk({ openai, store, itemConcurrency: config.itemConcurrency }, input);
    },
    /** Counts what the store holds: the final word on a batch, whatever was retried or cancelled. */
    async summarizeBatch({ batchId }: { batchId: string }): Promise<BatchSummary> {
      let succeeded = 0;
      let failed = 0;
      for await (const r of store.streamResults(batchId)) {
        if (isSuccess(r)) succeeded += 1;
        else failed += 1;
      }
      return { succeeded, failed };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ChunkInput, ChunkResult };
