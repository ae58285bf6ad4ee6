/**
 * The gatherer's flush (workflows/gather): the gathered requests' lines, read from the request store, become an
 * ordinary batch, created the way POST /batches creates one (src/worker passes in that creator: activities never
 * import the API). Idempotent: attempt n uses the workflow's batch id with its last two hex digits set to n, and
 * first looks for a batch started by an earlier attempt, whose answer may have been lost. So a retry never makes a
 * second batch, and an attempt that died half-way (input stored, workflow not started) is not in the way.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BatchLine } from '../shared/contracts';
import { FailureType } from '../shared/failures';
import type { FlushInput } from '../shared/gather';
import type { Quotas } from '../shared/tenants';
import type { RequestStore } from '../storage/requests';

export interface GatheredBatch {
  batchId: string;
  tenant: string;
  quotas: Quotas;
  lane: string;
  lines: BatchLine[];
}

export interface GatherActivityDeps {
  requests: RequestStore;
  /** Creates and starts the batch; throws `refused` (with the reason) for lines the creation refuses. */
  createBatch(batch: GatheredBatch): Promise<{ refused?: string }>;
  /** Whether a batch's workflow was started (running or ended). */
  batchStarted(batchId: string): Promise<boolean>;
}

/** What the API reads from the gatherer's history: which batch these requests went into. */
export interface FlushResult {
  batchId: string;
  requestIds: string[];
}

/** Attempt `n`'s batch id: the workflow's, its last two hex digits replaced by n (mod 256). */
export const attemptBatchId = (batchId: string, attempt: number): string =>
  attempt <= 1 ? batchId : `${batchId.slice(0, -2)}${(attempt % 256).toString(16).padStart(2, '0')}`;

export function createGatherActivities(deps: GatherActivityDeps) {
  return {
    async flushGathered(input: FlushInput): Promise<FlushResult> {
      const attempt = Context.current().info.attempt;
      for (let earlier = 1; earlier < attempt; earlier++) {
        const id = attemptBatchId(input.batchId, earlier);
        if (await deps.batchStarted(id)) {
          await deps.requests.assign(input.requestIds, id);
          return { batchId: id, requestIds: input.requestIds };
        }
      }
      const batchId = attemptBatchId(input.batchId, attempt);
      const stored = await Promise.all(input.requestIds.map((id) => deps.requests.get(id)));
      // A request the API stored is always there; one missing would be a store that lost it: skip it, say so.
      const lines = stored.flatMap((r) => (r ? [r.line] : []));
      if (lines.length < input.requestIds.length)
        Context.current().log.warn('gathered requests missing from the store', {
          missing: input.requestIds.length - lines.length,
        });
      const { refused } = await deps.createBatch({
        batchId,
        tenant: input.tenant,
        quotas: input.quotas,
        lane: input.lane,
        lines,
      });
      if (refused) throw ApplicationFailure.nonRetryable(refused, FailureType.GatheredBatchRefused);
      // After the start, so that a batch the store names always has a workflow to wait on; before the activity
      // completes, so that a request flushed by an earlier run of the gatherer is found in the store.
      await deps.requests.assign(input.requestIds, batchId);
      return { batchId, requestIds: input.requestIds };
    },
  };
}

export type GatherActivities = ReturnType<typeof createGatherActivities>;
