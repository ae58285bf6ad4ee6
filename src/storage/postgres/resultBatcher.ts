/**
 * One chunk's results on their way into PostgreSQL: appends that arrive while an insert is under way
 * go together in the next one (one round trip for many results, as CoalescingAppender does for files).
 * Each append resolves once its row is committed, or rejects with the insert's error.
 */
import type { Pool } from 'pg';
import type { BatchOutputLine } from '../../shared/contracts';
import { isSuccess } from '../types';

/** Rows per insert at most (5 parameters each, well under PostgreSQL's 65535). */
const MAX_ROWS = 1000;

interface Waiting {
  result: BatchOutputLine;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ResultBatcher {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly batchId: string,
    private readonly chunk: number,
  ) {}

  /** One multi-row insert; a custom_id already recorded keeps its first result. */
  static async insert(pool: Pool, batchId: string, chunk: number, results: BatchOutputLine[]): Promise<void> {
    const params: unknown[] = [batchId, chunk];
    const values = results.map((r) => {
      params.push(r.custom_id, isSuccess(r), JSON.stringify(r));
      const n = params.length;
      return `($1, $${n - 2}, $2, $${n - 1}, $${n})`;
    });
    await pool.query(
      `INSERT INTO results (batch_id, custom_id, chunk, succeeded, line) VALUES ${values.join(', ')} ON CONFLICT ` +
        '(batch_id, custom_id) DO NOTHING',
      params,
    );
  }

  append(result: BatchOutputLine): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ result, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Waits for every append made so far. */
  async close(): Promise<void> {
    await this.flushing;
  }

  private async drain(): Promise<void> {
    // Let the appends of this tick join the first insert.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ROWS);
      // Within one insert, a custom_id given twice keeps its first (PostgreSQL refuses one row twice in an upsert).
      const unique = new Map<string, BatchOutputLine>();
      for (const w of batch) if (!unique.has(w.result.custom_id)) unique.set(w.result.custom_id, w.result);
      try {
        await ResultBatcher.insert(this.pool, this.batchId, this.chunk, [...unique.values()]);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err as Error);
      }
    }
    this.flushing = undefined;
  }
}
