/**
 * BatchStore on PostgreSQL (tables in migrations.ts). Writes are multi-row inserts; results are read
 * page by page, never whole; no transaction stays open across anything but SQL.
 */
import type { Pool } from 'pg';
import type { BatchLine, BatchOutputLine, BatchProgress } from '../../shared/contracts';
import {
  Chunker,
  RECORD_KIND_PATTERN,
  type BatchManifest,
  type BatchStore,
  type ChunkWeight,
  type RecordQuery,
  type ResultFilter,
  type ResultWriter,
} from '../types';
import { ResultBatcher } from './resultBatcher';

/** Input rows are sent in inserts of about this many bytes. */
const INSERT_BYTES = 4 * 1024 * 1024;
/** Rows fetched per query when streaming results. */
const STREAM_PAGE = 2000;

interface ManifestRow {
  batch_id: string;
  total: number;
  chunk_size: number;
  chunk_count: number;
  created_at: Date;
}

const toManifest = (r: ManifestRow): BatchManifest => ({
  batchId: r.batch_id,
  total: r.total,
  chunkSize: r.chunk_size,
  chunkCount: r.chunk_count,
  createdAt: r.created_at.toISOString(),
});

function checkKind(kind: string): void {
  if (!RECORD_KIND_PATTERN.test(kind)) throw new Error(`invalid record kind: ${kind}`);
}

export class PostgresBatchStore implements BatchStore {
  constructor(private readonly pool: Pool) {}

  async putInput(
    batchId: string,
    lines: Iterable<BatchLine> | AsyncIterable<BatchLine>,
    chunkSize: number,
    weight?: ChunkWeight,
  ): Promise<BatchManifest> {
    // Chunks go in as they fill (no transaction held while a client streams its upload); the batch row
    // goes in last, and until it does the chunks belong to no batch. A refusal deletes them.
    await this.pool.query('DELETE FROM batch_chunks WHERE batch_id = $1', [batchId]);
    const chunker = new Chunker(chunkSize, weight);
    const pending: Array<{ chunk: number; text: string }> = [];
    let pendingBytes = 0;
    let current = 0;
    let buffer: string[] = [];
    let total = 0;
    const send = async (): Promise<void> => {
      if (pending.length === 0) return;
      const params: unknown[] = [batchId];
      const values = pending.map((p, i) => {
        params.push(p.chunk, p.text);
        return `($1, $${2 * i + 2}, $${2 * i + 3})`;
      });
      pending.length = 0;
      pendingBytes = 0;
      await this.pool.query(`INSERT INTO batch_chunks (batch_id, chunk, lines) VALUES ${values.join(', ')}`, params);
    };
    const close = async (): Promise<void> => {
      if (buffer.length === 0) return;
      const text = buffer.join('');
      buffer = [];
      pending.push({ chunk: current, text });
      pendingBytes += text.length;
      if (pendingBytes >= INSERT_BYTES) await send();
    };
    try {
      for await (const line of lines) {
        const chunk = chunker.place(line);
        if (chunk !== current) {
          await close();
          current = chunk;
        }
        buffer.push(`${JSON.stringify(line)}\n`);
        total += 1;
      }
      await close();
      await send();
      const { rows } = await this.pool.query<ManifestRow>(
        'INSERT INTO batches (batch_id, total, chunk_size, chunk_count, created_at) VALUES ($1, $2, $3, $4, ' +
          'now()) RETURNING *',
        [batchId, total, chunkSize, chunker.chunkCount],
      );
      return toManifest(rows[0]!);
    } catch (err) {
      await this.pool.query('DELETE FROM batch_chunks WHERE batch_id = $1', [batchId]).catch(() => undefined);
      throw err;
    }
  }

  async getManifest(batchId: string): Promise<BatchManifest | undefined> {
    const { rows } = await this.pool.query<ManifestRow>(
      'SELECT batch_id, total, chunk_size, chunk_count, created_at FROM batches WHERE batch_id = $1',
      [batchId],
    );
    return rows[0] && toManifest(rows[0]);
  }

  async getChunk(batchId: string, chunk: number): Promise<BatchLine[]> {
    const { rows } = await this.pool.query<{ lines: string }>(
      'SELECT lines FROM batch_chunks WHERE batch_id = $1 AND chunk = $2',
      [batchId, chunk],
    );
    if (!rows[0]) throw new Error(`batch ${batchId} has no chunk ${chunk}`);
    return rows[0].lines
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as BatchLine);
  }

  async appendResult(batchId: string, chunk: number, result: BatchOutputLine): Promise<void> {
    await ResultBatcher.insert(this.pool, batchId, chunk, [result]);
  }

  async openResults(batchId: string, chunk: number): Promise<ResultWriter> {
    const results = new ResultBatcher(this.pool, batchId, chunk);
    return {
      append: (result) => results.append(result),
      countFailure: async (customId) => {
        await this.pool.query(
          `INSERT INTO item_failures (batch_id, chunk, custom_id, failures) VALUES ($1, $2, $3, 1)
           ON CONFLICT (batch_id, chunk, custom_id) DO UPDATE SET failures = item_failures.failures + 1`,
          [batchId, chunk, customId],
        );
      },
      close: () => results.close(),
    };
  }

  async getChunkResults(batchId: string, chunk: number): Promise<Map<string, BatchOutputLine>> {
    const { rows } = await this.pool.query<{ custom_id: string; line: string }>(
      'SELECT custom_id, line FROM results WHERE batch_id = $1 AND chunk = $2 ORDER BY custom_id',
      [batchId, chunk],
    );
    return new Map(rows.map((r) => [r.custom_id, JSON.parse(r.line) as BatchOutputLine]));
  }

  async getFailureCounts(batchId: string, chunk: number): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ custom_id: string; failures: number }>(
      'SELECT custom_id, failures FROM item_failures WHERE batch_id = $1 AND chunk = $2',
      [batchId, chunk],
    );
    return new Map(rows.map((r) => [r.custom_id, r.failures]));
  }

  /**
   * Pages of STREAM_PAGE rows in (chunk, custom_id) order, each page its own query resuming after the last
   * row (a keyset cursor on the results_by_chunk index): memory stays one page, and a slow reader holds no
   * connection or transaction between pages.
   */
  async *streamResults(batchId: string, filter: ResultFilter = 'all'): AsyncIterable<BatchOutputLine> {
    const where = filter === 'all' ? '' : ` AND succeeded = ${filter === 'succeeded' ? 'true' : 'false'}`;
    let after: [number, string] = [-1, ''];
    for (;;) {
      const { rows } = await this.pool.query<{ chunk: number; custom_id: string; line: string }>(
        'SELECT chunk, custom_id, line FROM results WHERE batch_id = $1 AND (chunk, custom_id) > ($2, ' +
          `$3)${where} ORDER BY chunk, custom_id LIMIT ${STREAM_PAGE}`,
        [batchId, ...after],
      );
      for (const r of rows) yield JSON.parse(r.line) as BatchOutputLine;
      if (rows.length < STREAM_PAGE) return;
      const last = rows[rows.length - 1]!;
      after = [last.chunk, last.custom_id];
    }
  }

  async reopenFailed(batchId: string): Promise<Map<number, number>> {
    // One statement, so one transaction: the outcome, the dead letters and their counts go together. The
    // batch's quota slot stays freed (a retry of what it already holds takes no new one).
    const { rows } = await this.pool.query<{ chunk: number; n: number }>(
      `WITH o AS (UPDATE batches SET outcome = NULL WHERE batch_id = $1),
       r AS (DELETE FROM results WHERE batch_id = $1 AND NOT succeeded RETURNING chunk, custom_id),
       f AS (DELETE FROM item_failures i USING r WHERE i.batch_id = $1 AND i.chunk = r.chunk
             AND i.custom_id = r.custom_id)
       SELECT chunk, count(*)::int AS n FROM r GROUP BY chunk ORDER BY chunk`,
      [batchId],
    );
    return new Map(rows.map((r) => [r.chunk, r.n]));
  }

  async putOutcome(batchId: string, outcome: BatchProgress): Promise<void> {
    // The batch's quota slot is freed with it, in one statement: no window where one is done and not the other.
    await this.pool.query(
      `WITH b AS (UPDATE batches SET outcome = $2 WHERE batch_id = $1 RETURNING batch_id)
       UPDATE batch_slots SET ended_at = now() WHERE batch_id IN (SELECT batch_id FROM b) AND ended_at IS NULL`,
      [batchId, JSON.stringify(outcome)],
    );
  }

  async getOutcome(batchId: string): Promise<BatchProgress | undefined> {
    const { rows } = await this.pool.query<{ outcome: BatchProgress | null }>(
      'SELECT outcome FROM batches WHERE batch_id = $1',
      [batchId],
    );
    return rows[0]?.outcome ?? undefined;
  }

  async putRecord(batchId: string, kind: string, record: unknown): Promise<void> {
    checkKind(kind);
    const { rowCount } = await this.pool.query(
      `INSERT INTO batch_records (batch_id, kind, record) SELECT batch_id, $2, $3 FROM batches WHERE batch_id = $1
       ON CONFLICT (kind, batch_id) DO UPDATE SET record = EXCLUDED.record`,
      [batchId, kind, JSON.stringify(record)],
    );
    if (rowCount === 0) throw new Error(`batch ${batchId} not found`);
  }

  async getRecord(batchId: string, kind: string): Promise<unknown> {
    checkKind(kind);
    const { rows } = await this.pool.query<{ record: unknown }>(
      'SELECT record FROM batch_records WHERE kind = $1 AND batch_id = $2',
      [kind, batchId],
    );
    return rows[0]?.record;
  }

  async listRecords(kind: string, query: RecordQuery): Promise<Array<{ batchId: string; record: unknown }>> {
    checkKind(kind);
    const params: unknown[] = [kind];
    const conditions = ['kind = $1'];
    // Spelled as in the index's expression (record->>'tenant'), so that the planner uses it.
    const { tenant, api, createdFrom, createdBefore } = query.match ?? {};
    const add = (sql: string, value: string | undefined): void => {
      if (value === undefined) return;
      params.push(value);
      conditions.push(`${sql} $${params.length}`);
    };
    add(`record->>'tenant' =`, tenant);
    add(`record->>'api' =`, api);
    // ISO 8601 in UTC (toISOString): byte order is time order.
    add(`(record->>'createdAt') COLLATE "C" >=`, createdFrom);
    add(`(record->>'createdAt') COLLATE "C" <`, createdBefore);
    const op = query.order === 'asc' ? '>' : '<';
    const direction = query.order === 'asc' ? 'ASC' : 'DESC';
    const out: Array<{ batchId: string; record: unknown }> = [];
    let after = query.after;
    // Pages of rows until `where` has accepted `limit` of them (without `where`, the first page does).
    const page = query.where ? Math.min(Math.max(query.limit, 100), 1000) : Math.min(query.limit, 10_000);
    for (;;) {
      const p = [...params];
      let sql = `SELECT batch_id, record FROM batch_records WHERE ${conditions.join(' AND ')}`;
      if (after !== undefined) {
        p.push(after);
        sql += ` AND batch_id ${op} $${p.length}`;
      }
      p.push(page);
      sql += ` ORDER BY batch_id ${direction} LIMIT $${p.length}`;
      const { rows } = await this.pool.query<{ batch_id: string; record: unknown }>(sql, p);
      for (const r of rows) {
        if (out.length >= query.limit) return out;
        if (!query.where || query.where(r.record)) out.push({ batchId: r.batch_id, record: r.record });
      }
      if (rows.length < page || out.length >= query.limit) return out;
      after = rows[rows.length - 1]!.batch_id;
    }
  }
}
