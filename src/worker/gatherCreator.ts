/**
 * What the gatherer's flush needs to make a batch, wired here because activities may not import the API: the one
 * creation path POST /batches uses (BatchCreator: quota, checks, store, plan, owner record, workflow start), so a
 * gathered batch is an ordinary batch in every respect. A full concurrent-batch quota is thrown as is, and the
 * flush activity retries it; a refused line is a bug (the API checked it), reported as `refused`.
 */
import type { Client } from '@temporalio/client';
import type { GatherActivityDeps, GatheredBatch } from '../activities/gather';
import { workflowState } from '../api/admission';
import type { BatchCreator } from '../api/createBatch';
import { HttpError } from '../api/httpError';
import type { Config } from '../config';
import type { RequestStore } from '../storage/requests';

export interface GatherWiring {
  client: Client;
  /** The worker's BatchCreator (createWorker), shared with schedules' runs. */
  creator: BatchCreator;
  config: Config;
  requests: RequestStore;
}

export function gatherDeps(w: GatherWiring): GatherActivityDeps {
  const { client, creator } = w;
  return {
    requests: w.requests,
    batchStarted: async (batchId) => (await workflowState(client, batchId)) !== 'missing',
    createBatch: (batch) => createGathered(creator, w.config, batch),
  };
}

async function createGathered(creator: BatchCreator, config: Config, batch: GatheredBatch) {
  const tenant = { id: batch.tenant, keyHashes: [], admin: false, quotas: batch.quotas };
  // A named lane is asked for by name; otherwise the batch's one endpoint and model choose it, as for any batch.
  const lane = config.lanes.some((l) => l.name === batch.lane) ? batch.lane : undefined;
  try {
    await creator.create({
      batchId: batch.batchId,
      tenant,
      api: 'project',
      // Realtime: a native batch takes minutes to hours, and these requests have a client waiting.
      request: { requests: [], options: { mode: 'realtime', ...(lane ? { lane } : {}) } },
      lines: batch.lines.map((request, at) => ({ at, request })),
      position: 'index',
      gathered: true,
      // No webhook per gathered batch: each request has its own client waiting, or polling GET /requests/:id.
      nowMs: Date.now(),
    });
    return {};
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) return { refused: err.message };
    throw err;
  }
}
