/**
 * A tenant's concurrent-batch slots, shared by every API replica: one per batch being created or
 * running, taken atomically against the tenant's limit. The slot also holds the batch's
 * Idempotency-Key, unique per tenant, so a key is claimed once whichever replica sees it first.
 * (The file store has no such table: its API counts one process's batches, see api/admission.ts.)
 */
export interface SlotStore {
  /**
   * Takes a slot for `batchId` unless the tenant already holds `limit`, or `idempotencyKey` is already
   * claimed (by a batch being created, running or ended). Atomic across processes.
   */
  take(request: { tenant: string; batchId: string; limit: number; idempotencyKey?: string }): Promise<TakeResult>;
  /** The tenant's slots not yet released, for the caller to find those whose batch is gone. */
  held(tenant: string): Promise<HeldSlot[]>;
  /** The batch's workflow has started: its key is no longer "being processed". */
  markStarted(batchId: string): Promise<void>;
  /** The batch ended (its key stays claimed, pointing at it). */
  release(batchId: string): Promise<void>;
  /** The creation was refused or died: the slot and its key are free again. */
  forget(batchId: string): Promise<void>;
}

export type TakeResult =
  | { outcome: 'taken' }
  | { outcome: 'full'; held: number }
  | { outcome: 'key_claimed'; batchId: string; started: boolean };

export interface HeldSlot {
  batchId: string;
  started: boolean;
  takenAt: Date;
}
