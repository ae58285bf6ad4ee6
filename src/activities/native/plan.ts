/** Planning: provider batches cut over the store's chunks, within the provider's per-batch limits. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../shared/failures';
import {
  ChunkTooLargeError,
  planProviderBatches,
  type ChunkEndpointStat,
  type ProviderBatchPlan,
  type ProviderEndpoint,
} from '../../shared/native';
import type { BatchStore } from '../../storage/types';
import { jsonlLine } from './planStore';
import type { NativeActivityDeps, PlanInput } from './types';

/** Lines and bytes per endpoint of one chunk. */
async function chunkStats(store: BatchStore, batchId: string, chunk: number): Promise<ChunkEndpointStat[]> {
  const per = new Map<ProviderEndpoint, ChunkEndpointStat>();
  for (const line of await store.getChunk(batchId, chunk)) {
    const s = per.get(line.url) ?? { chunk, endpoint: line.url, lines: 0, bytes: 0 };
    s.lines += 1;
    s.bytes += jsonlLine(line).length;
    per.set(line.url, s);
  }
  return [...per.values()];
}

export function createPlanActivities({ store }: NativeActivityDeps) {
  return {
    /** Reads every chunk once for its lines and bytes per endpoint and cuts them into provider batches. */
    async planProviderBatches({ batchId, chunkCount, limits }: PlanInput): Promise<ProviderBatchPlan[]> {
      const stats: ChunkEndpointStat[] = [];
      for (let chunk = 0; chunk < chunkCount; chunk++) {
        stats.push(...(await chunkStats(store, batchId, chunk)));
        Context.current().heartbeat(chunk); // a million items take a while to read
      }
      try {
        return planProviderBatches(stats, limits);
      } catch (err) {
        if (err instanceof ChunkTooLargeError)
          throw ApplicationFailure.create({
            type: FailureType.NativeChunkTooLarge,
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },
  };
}
