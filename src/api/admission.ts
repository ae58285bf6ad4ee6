/**
 * Admission: whether a tenant may create one more batch now (its concurrent-batch quota), and the
 * Idempotency-Key check that comes with it. Two ways, chosen by the data plane:
 *   SharedAdmission  slots in PostgreSQL (storage/slots.ts): the quota and keys hold across API replicas
 *   LocalAdmission   the file store: one API process counts its tenant's batches by scanning owner records
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Sema } from 'async-sema';
import type { Tenant } from '../config';
import { batchWorkflowId } from '../shared/contracts';
import type { SlotStore } from '../storage/slots';
import type { BatchStore } from '../storage/types';
import { HttpError } from './httpError';
import { OWNER_RECORD, ownedBy, OwnerRecordSchema, type OwnerRecord } from './owner';

/** The batch an earlier request with the same Idempotency-Key created. */
export interface EarlierBatch {
  batchId: string;
  owner: OwnerRecord;
}

export interface Admission {
  /**
   * Admits one more batch (429 over quota; 409 while the key's first request is under way), or returns
   * the key's earlier batch.
   */
  admit(tenant: Tenant, batchId: string, idempotencyKey: string | undefined): Promise<EarlierBatch | undefined>;
  /** The creation is over: its workflow `started`, or it was refused (its slot and key are free again). */
  settle(tenant: Tenant, batchId: string, idempotencyKey: string | undefined, started: boolean): Promise<void>;
}

/** A slot taken this long ago by a creation that never started its workflow: the creating process died. */
const ABANDONED_CREATION_MS = 60 * 60 * 1000;

const quotaExceeded = (tenant: Tenant, active: number): HttpError =>
  new HttpError(
    429,
    `Quota exceeded: tenant ${tenant.id} has ${active} batches running, ` +
      `its limit (concurrent batches) is ${tenant.quotas.concurrentBatches}.`,
    undefined,
    'quota_exceeded',
  );
const keyInUse = (): HttpError =>
  new HttpError(
    409,
    'A request with this Idempotency-Key is still being processed; retry once it has finished.',
    undefined,
    'idempotency_key_in_use',
  );

export async function workflowState(client: Client, batchId: string): Promise<'running' | 'closed' | 'missing'> {
  try {
    return (await client.workflow.getHandle(batchWorkflowId(batchId)).describe()).status.name === 'RUNNING'
      ? 'running'
      : 'closed';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'missing';
    throw err;
  }
}

export class SharedAdmission implements Admission {
  /** Batches seen ended: they never run again, so Temporal is not asked twice. */
  private readonly ended = new Set<string>();

  constructor(private readonly deps: { slots: SlotStore; store: BatchStore; client: Client }) {}

  async admit(tenant: Tenant, batchId: string, idempotencyKey: string | undefined): Promise<EarlierBatch | undefined> {
    await this.releaseEnded(tenant.id);
    const taken = await this.deps.slots.take({
      tenant: tenant.id,
      batchId,
      limit: tenant.quotas.concurrentBatches,
      idempotencyKey,
    });
    if (taken.outcome === 'taken') return undefined;
    if (taken.outcome === 'full') throw quotaExceeded(tenant, taken.held);
    if (!taken.started) throw keyInUse();
    const owner = OwnerRecordSchema.safeParse(await this.deps.store.getRecord(taken.batchId, OWNER_RECORD));
    if (!owner.success) throw keyInUse();
    return { batchId: taken.batchId, owner: owner.data };
  }

  async settle(_tenant: Tenant, batchId: string, _key: string | undefined, started: boolean): Promise<void> {
    await (started ? this.deps.slots.markStarted(batchId) : this.deps.slots.forget(batchId));
  }

  /**
   * Frees the slots of batches that ended without writing an outcome (which frees them by itself): a
   * workflow terminated from Temporal's UI, say, or a creating process that died.
   */
  private async releaseEnded(tenant: string): Promise<void> {
    const { slots, client } = this.deps;
    for (const slot of await slots.held(tenant)) {
      if (this.ended.has(slot.batchId)) {
        await slots.release(slot.batchId);
      } else if (!slot.started) {
        if (
          Date.now() - slot.takenAt.getTime() > ABANDONED_CREATION_MS &&
          (await workflowState(client, slot.batchId)) === 'missing'
        )
          await slots.forget(slot.batchId);
      } else if ((await workflowState(client, slot.batchId)) !== 'running') {
        this.ended.add(slot.batchId);
        await slots.release(slot.batchId);
      }
    }
  }
}

export class LocalAdmission implements Admission {
  /** One quota check at a time per tenant, so two concurrent requests cannot both take the last slot. */
  private readonly locks = new Map<string, Sema>();
  /** Per tenant: batches admitted and still being created (their input streaming in), not yet running. */
  private readonly creating = new Map<string, number>();
  /** Per tenant: Idempotency-Keys of creations under way. */
  private readonly keysInFlight = new Map<string, Set<string>>();
  /** Batches known to have ended: they never run again, so they need not be checked twice. */
  private readonly ended = new Set<string>();

  constructor(private readonly deps: { store: BatchStore; client: Client }) {}

  /** Only the check is serialized: a large upload streaming in holds its slot, not the lock. */
  async admit(tenant: Tenant, _batchId: string, idempotencyKey: string | undefined): Promise<EarlierBatch | undefined> {
    const lock = this.locks.get(tenant.id) ?? new Sema(1);
    this.locks.set(tenant.id, lock);
    await lock.acquire();
    try {
      if (idempotencyKey !== undefined) {
        const inFlight = this.keysInFlight.get(tenant.id) ?? new Set<string>();
        this.keysInFlight.set(tenant.id, inFlight);
        if (inFlight.has(idempotencyKey)) throw keyInUse();
        const earlier = await this.byIdempotencyKey(tenant.id, idempotencyKey);
        if (earlier) return earlier; // a replay takes no slot and is not refused by the quota
      }
      const active = (await this.activeBatches(tenant.id)) + (this.creating.get(tenant.id) ?? 0);
      if (active >= tenant.quotas.concurrentBatches) throw quotaExceeded(tenant, active);
      this.creating.set(tenant.id, (this.creating.get(tenant.id) ?? 0) + 1);
      if (idempotencyKey !== undefined) this.keysInFlight.get(tenant.id)?.add(idempotencyKey);
      return undefined;
    } finally {
      lock.release();
    }
  }

  async settle(tenant: Tenant, _batchId: string, idempotencyKey: string | undefined): Promise<void> {
    this.creating.set(tenant.id, (this.creating.get(tenant.id) ?? 1) - 1);
    if (idempotencyKey !== undefined) this.keysInFlight.get(tenant.id)?.delete(idempotencyKey);
  }

  private async byIdempotencyKey(tenant: string, key: string): Promise<EarlierBatch | undefined> {
    const where = ownedBy(tenant, undefined, (owner) => owner.idempotencyKey === key);
    const [row] = await this.deps.store.listRecords(OWNER_RECORD, {
      limit: 1,
      order: 'desc',
      match: { tenant },
      where,
    });
    return row && { batchId: row.batchId, owner: OwnerRecordSchema.parse(row.record) };
  }

  /** The tenant's batches that have not ended: no outcome yet and a workflow still running. */
  private async activeBatches(tenant: string): Promise<number> {
    const { store, client } = this.deps;
    const rows = await store.listRecords(OWNER_RECORD, {
      limit: Number.MAX_SAFE_INTEGER,
      order: 'asc',
      match: { tenant },
      where: ownedBy(tenant),
    });
    let active = 0;
    for (const { batchId } of rows) {
      if (this.ended.has(batchId)) continue;
      if (await store.getOutcome(batchId)) {
        this.ended.add(batchId);
        continue;
      }
      const state = await workflowState(client, batchId);
      if (state === 'running') active += 1;
      // Not cached when missing: its workflow may be about to start (a creation in another request).
      else if (state === 'closed') this.ended.add(batchId);
    }
    return active;
  }
}
