/** SlotStore on PostgreSQL's batch_slots: each take is one transaction under a per-tenant advisory lock. */
import type { Pool } from 'pg';
import type { HeldSlot, SlotStore, TakeResult } from '../slots';
import { inTransaction } from './pool';

/** The first key of the two-key advisory lock: this table's, apart from other users of advisory locks. */
const SLOTS_LOCK_SPACE = 0x736c6f74; // "slot"

export class PostgresSlotStore implements SlotStore {
  constructor(private readonly pool: Pool) {}

  take({
    tenant,
    batchId,
    limit,
    idempotencyKey,
  }: {
    tenant: string;
    batchId: string;
    limit: number;
    idempotencyKey?: string;
  }): Promise<TakeResult> {
    return inTransaction(this.pool, async (db) => {
      // Held until commit: two replicas admitting the same tenant's batches take turns; other tenants do not wait.
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SLOTS_LOCK_SPACE, tenant]);
      if (idempotencyKey !== undefined) {
        const { rows } = await db.query<{ batch_id: string; started: boolean }>(
          'SELECT batch_id, started FROM batch_slots WHERE tenant = $1 AND idempotency_key = $2',
          [tenant, idempotencyKey],
        );
        if (rows[0]) return { outcome: 'key_claimed', batchId: rows[0].batch_id, started: rows[0].started };
      }
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM batch_slots WHERE tenant = $1 AND ended_at IS NULL',
        [tenant],
      );
      const held = rows[0]!.n;
      if (held >= limit) return { outcome: 'full', held };
      await db.query('INSERT INTO batch_slots (batch_id, tenant, idempotency_key) VALUES ($1, $2, $3)', [
        batchId,
        tenant,
        idempotencyKey ?? null,
      ]);
      return { outcome: 'taken' };
    });
  }

  async held(tenant: string): Promise<HeldSlot[]> {
    const { rows } = await this.pool.query<{ batch_id: string; started: boolean; taken_at: Date }>(
      'SELECT batch_id, started, taken_at FROM batch_slots WHERE tenant = $1 AND ended_at IS NULL ORDER BY batch_id',
      [tenant],
    );
    return rows.map((r) => ({ batchId: r.batch_id, started: r.started, takenAt: r.taken_at }));
  }

  async markStarted(batchId: string): Promise<void> {
    await this.pool.query('UPDATE batch_slots SET started = true WHERE batch_id = $1', [batchId]);
  }

  async release(batchId: string): Promise<void> {
    await this.pool.query('UPDATE batch_slots SET ended_at = now() WHERE batch_id = $1 AND ended_at IS NULL', [
      batchId,
    ]);
  }

  async forget(batchId: string): Promise<void> {
    await this.pool.query('DELETE FROM batch_slots WHERE batch_id = $1', [batchId]);
  }
}
