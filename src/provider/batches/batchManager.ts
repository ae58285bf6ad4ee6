import { nowSeconds, randomId } from '../ids';
import { ApiError, invalidRequest, notFound } from '../openaiErrors';
import { BatchRun, type BatchRunContext } from './batchRun';
import type { BatchObject } from '../openaiObjects';
import { BATCH_STATUSES, emptyUsage } from './batchTypes';

export interface CreateBatchParams {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata?: Record<string, string> | null | undefined;
}

/**
 * All batches of this simulator, in memory (the simulator is not durable;
 * their files are on disk). Creation order is kept for listing.
 */
export class BatchManager {
  private readonly runs = new Map<string, BatchRun>();

  constructor(private readonly ctx: BatchRunContext) {}

  create(params: CreateBatchParams): BatchObject {
    const input = this.ctx.files.get(params.input_file_id);
    // A missing file fails the batch in `validating`; a file with the wrong purpose is refused now.
    if (input !== undefined && input.purpose !== 'batch') {
      throw invalidRequest(
        `Invalid 'input_file_id': file ${input.id} has purpose '${input.purpose}', expected 'batch'.`,
        'input_file_id',
        'invalid_value',
      );
    }
    const createdAt = nowSeconds();
    const batch: BatchObject = {
      id: randomId('batch_'),
      object: 'batch',
      endpoint: params.endpoint,
      model: null,
      errors: null,
      input_file_id: params.input_file_id,
      completion_window: params.completion_window,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: createdAt,
      in_progress_at: null,
      expires_at: createdAt + Math.ceil(this.ctx.options.current.completionWindowMs / 1000),
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: params.metadata ?? null,
      usage: emptyUsage(),
    };
    const run = new BatchRun(batch, this.ctx);
    this.runs.set(batch.id, run);
    run.start();
    return batch;
  }

  get(id: string): BatchObject {
    const run = this.runs.get(id);
    if (run === undefined) throw notFound(`No batch found with id '${id}'.`, 'batch_id');
    return run.batch;
  }

  /** Newest first, OpenAI cursor style: `after` is the last id of the previous page. */
  list(after: string | undefined, limit: number): { data: BatchObject[]; hasMore: boolean } {
    const all = [...this.runs.values()].map((run) => run.batch).reverse();
    let start = 0;
    if (after !== undefined) {
      const index = all.findIndex((batch) => batch.id === after);
      if (index < 0) throw notFound(`No batch found with id '${after}'.`, 'after');
      start = index + 1;
    }
    return { data: all.slice(start, start + limit), hasMore: start + limit < all.length };
  }

  cancel(id: string): BatchObject {
    const run = this.runs.get(id);
    if (run === undefined) throw notFound(`No batch found with id '${id}'.`, 'batch_id');
    if (!run.requestCancel()) {
      throw new ApiError(
        409,
        `Cannot cancel a batch with status '${run.batch.status}'.`,
        'invalid_request_error',
        null,
        'batch_not_cancellable',
      );
    }
    return run.batch;
  }

  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = Object.fromEntries(BATCH_STATUSES.map((status) => [status, 0]));
    for (const run of this.runs.values()) counts[run.batch.status] = (counts[run.batch.status] ?? 0) + 1;
    return counts;
  }

  async close(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.close()));
  }
}
