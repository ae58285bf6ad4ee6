/**
 * A batch's progress as the API shows it. An ended batch is read from the store (a query on a closed
 * workflow replays its whole history). A running native batch adds what its provider batches report
 * now (their request_counts) to what the parent has collected.
 */
import type { Client } from '@temporalio/client';
import { batchWorkflowId, progressQuery, type BatchProgress } from '../shared/contracts';
import {
  mergeLiveProgress,
  nativeProgressQuery,
  providerBatchProgressQuery,
  type NativeProgress,
} from '../shared/native';
import type { ProgressView, ProviderBatchView } from '../shared/views';
import type { BatchStore } from '../storage/types';

export async function readProgress(client: Client, store: BatchStore, id: string): Promise<ProgressView> {
  const outcome = await store.getOutcome(id);
  if (outcome) return withCacheHits(outcome);
  const handle = client.workflow.getHandle(batchWorkflowId(id));
  const progress = withCacheHits(await handle.query(progressQuery));
  if (progress.mode !== 'native' || progress.status !== 'running') return progress;
  return withCacheHits(await nativeLive(client, await handle.query(nativeProgressQuery)));
}

/** Outcomes stored, and workflows started, before the response cache or structured outputs lack their counts: 0. */
const withCacheHits = <P extends BatchProgress>(p: P): P => ({
  ...p,
  cacheHits: p.cacheHits ?? 0,
  repaired: p.repaired ?? 0,
  invalidOutput: p.invalidOutput ?? 0,
});

async function nativeLive(client: Client, parent: NativeProgress): Promise<ProgressView> {
  const views = await Promise.all(
    parent.providerBatches.map(
      async (e): Promise<ProviderBatchView & { live?: { succeeded: number; failed: number } }> => {
        const view: ProviderBatchView = {
          index: e.plan.index,
          round: e.round,
          state: e.state,
          workflowId: e.workflowId,
          providerBatchId: e.last?.providerBatchId ?? null,
          status: e.last?.status ?? null,
          requestCounts: e.last?.requestCounts ?? null,
        };
        if (e.state !== 'running' || !e.workflowId) return view;
        // The child may have just finished; the parent's next answer will count it.
        const child = await client.workflow
          .getHandle(e.workflowId)
          .query(providerBatchProgressQuery)
          .catch(() => undefined);
        if (!child) return view;
        return {
          ...view,
          providerBatchId: child.providerBatchId,
          status: child.status,
          requestCounts: child.requestCounts,
          live: { succeeded: child.requestCounts.completed, failed: child.requestCounts.failed },
        };
      },
    ),
  );
  const live = new Map(views.flatMap((v) => (v.live && v.workflowId ? [[v.workflowId, v.live] as const] : [])));
  const { expiryPolicy: _e, providerBatches: _p, ...merged } = mergeLiveProgress(parent, live);
  return { ...merged, providerBatches: views.map(({ live: _l, ...v }) => v) };
}
