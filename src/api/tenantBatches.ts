/**
 * The caller's batches, as every project API route reaches them: owned or a 404, read as a BatchView,
 * signalled (an ended batch takes no more signals: 409).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Response } from 'express';
import { batchWorkflowId, DEFAULT_PRIORITY } from '../shared/contracts';
import type { BatchView, ProgressView } from '../shared/views';
import type { BatchStore } from '../storage/types';
import { tenantOf } from './auth';
import { HttpError } from './httpError';
import { ownedBatch, type OwnerRecord } from './owner';
import { readProgress } from './progress';

export class TenantBatches {
  constructor(private readonly deps: { client: Client; store: BatchStore }) {}

  /** The owner record of the caller's batch `id`; another tenant's is as absent as a missing one (404). */
  async require(res: Response, id: string): Promise<OwnerRecord> {
    const owner = await ownedBatch(this.deps.store, tenantOf(res).id, id);
    if (!owner) throw new HttpError(404, `batch ${id} not found`, undefined, 'not_found');
    return owner;
  }

  async view(id: string, owner: OwnerRecord): Promise<BatchView> {
    const progress = await readProgress(this.deps.client, this.deps.store, id).catch((err: unknown) => {
      // Stored and owned, but no outcome and no workflow: its start failed (or a crash came between).
      if (err instanceof WorkflowNotFoundError) return neverStarted(id, owner);
      throw err;
    });
    return {
      id,
      createdAt: owner.createdAt,
      model: owner.model ?? null,
      api: owner.api,
      retryOf: owner.retryOf ?? null,
      retriedBy: owner.retriedBy ?? [],
      scheduleId: owner.scheduleId ?? null,
      ...progress,
    };
  }

  /** Signals one of the caller's batches; an ended batch cannot take signals: 409, as /v1's cancel answers. */
  async signal<Args extends unknown[]>(
    res: Response,
    id: string,
    signal: SignalDefinition<Args>,
    ...args: Args
  ): Promise<void> {
    await this.require(res, id);
    try {
      await this.deps.client.workflow.getHandle(batchWorkflowId(id)).signal(signal, ...args);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpError(409, `batch ${id} has ended: it takes no more signals`, undefined, 'batch_ended');
      throw err;
    }
  }
}

/** A batch whose workflow never started reads as failed, so one such batch cannot break a listing. */
function neverStarted(id: string, owner: OwnerRecord): ProgressView {
  return {
    batchId: id,
    status: 'failed',
    total: owner.total,
    succeeded: 0,
    failed: 0,
    pending: owner.total,
    chunksInFlight: 0,
    itemsInFlight: 0,
    priority: DEFAULT_PRIORITY,
    maxChunksInFlight: 0,
    tokensIn: 0,
    tokensOut: 0,
    cacheHits: 0,
    repaired: 0,
    invalidOutput: 0,
    startedAt: owner.createdAt,
    updatedAt: owner.createdAt,
    ratePerSecond: 0,
    eta: null,
    runs: 0,
    lane: null,
    mode: owner.mode,
    modeReason: null,
    costUsd: null,
    error: 'the batch has no workflow: it could not be started',
  };
}
