/**
 * The response cache in PostgreSQL: the `response_cache` table (migration 1), shared by every worker.
 * Ages are measured with the database's clock on both sides (created_at and now()), so workers whose
 * clocks differ agree on what has expired.
 */
import type { Pool } from 'pg';
import { checkCacheKey, type ResponseCache } from '../cache';

export class PostgresResponseCache implements ResponseCache {
  constructor(private readonly pool: Pool) {}

  async lookup(keys: readonly string[], maxAgeMs: number): Promise<Map<string, unknown>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query<{ key: string; body: string }>(
      `SELECT key, body FROM response_cache
        WHERE key = ANY($1::text[]) AND created_at > now() - $2::double precision * interval '1 millisecond'`,
      [[...new Set(keys)], maxAgeMs],
    );
    return new Map(rows.map((r) => [r.key, JSON.parse(r.body) as unknown]));
  }

  /**
   * One statement for all entries; a key stored again (expired, or raced by another batch) takes the new body and age.
   */
  async store(entries: ReadonlyMap<string, unknown>): Promise<void> {
    if (entries.size === 0) return;
    const keys = [...entries.keys()].map(checkCacheKey);
    const bodies = [...entries.values()].map((b) => JSON.stringify(b));
    await this.pool.query(
      `INSERT INTO response_cache (key, body)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body, created_at = now()`,
      [keys, bodies],
    );
  }
}
