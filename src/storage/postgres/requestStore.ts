/** RequestStore on PostgreSQL's gathered_requests: one row per single request, its batch set when gathered. */
import type { Pool } from 'pg';
import type { RequestStore, StoredRequest } from '../requests';

export class PostgresRequestStore implements RequestStore {
  constructor(private readonly pool: Pool) {}

  async put(id: string, request: StoredRequest): Promise<void> {
    const { batchId: _none, ...record } = request;
    await this.pool.query('INSERT INTO gathered_requests (request_id, tenant, record) VALUES ($1, $2, $3)', [
      id,
      request.tenant,
      JSON.stringify(record),
    ]);
  }

  async get(id: string): Promise<StoredRequest | undefined> {
    const { rows } = await this.pool.query<{ record: StoredRequest; batch_id: string | null }>(
      'SELECT record, batch_id FROM gathered_requests WHERE request_id = $1',
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    return row.batch_id === null ? row.record : { ...row.record, batchId: row.batch_id };
  }

  async assign(ids: readonly string[], batchId: string): Promise<void> {
    await this.pool.query('UPDATE gathered_requests SET batch_id = $2 WHERE request_id = ANY($1)', [
      ids as string[],
      batchId,
    ]);
  }
}
