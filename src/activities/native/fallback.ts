/** Realtime fallback: a plan's leftovers copied out for the realtime workflow, and its results copied back. */
import type { BatchLine } from '../../shared/contracts';
import type { RangeSummary } from '../../shared/native';
import { rangeState, ResultSink } from './planStore';
import { withHeartbeat } from './providerCall';
import type { FallbackInput, FallbackManifest, NativeActivityDeps } from './types';

export function createFallbackActivities({ store }: NativeActivityDeps) {
  return {
    /** Copies the plan's items without a result into a store batch of their own for the realtime workflow. */
    async prepareRealtimeFallback({
      batchId,
      plan,
      fallbackBatchId,
      chunkSize,
    }: FallbackInput): Promise<FallbackManifest> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          // The manifest is written last, so one that exists is complete: a retry after success changes nothing.
          const existing = await store.getManifest(fallbackBatchId);
          if (existing)
            return { total: existing.total, chunkCount: existing.chunkCount, chunkSize: existing.chunkSize };
          const leftovers: BatchLine[] = [];
          for (let chunk = plan.firstChunk; chunk <= plan.lastChunk; chunk++) {
            const [lines, recorded] = await Promise.all([
              store.getChunk(batchId, chunk),
              store.getChunkResults(batchId, chunk),
            ]);
            leftovers.push(...lines.filter((l) => l.url === plan.endpoint && !recorded.has(l.custom_id)));
          }
          if (leftovers.length === 0) return { total: 0, chunkCount: 0, chunkSize };
          const m = await store.putInput(fallbackBatchId, leftovers, chunkSize);
          return { total: m.total, chunkCount: m.chunkCount, chunkSize: m.chunkSize };
        },
      );
    },

    /** Copies the realtime fallback's results back into the batch, into the chunks that hold their items. */
    async mergeRealtimeFallback({
      batchId,
      plan,
      fallbackBatchId,
    }: Omit<FallbackInput, 'chunkSize'>): Promise<RangeSummary> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          const { chunkOf, recorded } = await rangeState(store, batchId, plan);
          const sink = new ResultSink(store, batchId);
          for await (const r of store.streamResults(fallbackBatchId)) {
            const chunk = chunkOf.get(r.custom_id);
            if (chunk === undefined || recorded.has(r.custom_id)) continue;
            await sink.add(chunk, r);
            recorded.add(r);
          }
          await sink.flush();
          return recorded.summary(chunkOf.size);
        },
      );
    },
  };
}
