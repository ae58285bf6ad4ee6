/**
 * A schedule's run becomes an ordinary batch here, through BatchCreator like POST /batches: the worker injects
 * `scheduledBatchCreator` into the run's activity (activities never import the API). The batch id comes from the
 * run's workflow id and the run's workflow id is its Idempotency-Key, so a retried activity gets the batch its
 * first attempt created instead of a second one.
 */
import type { Config, Tenant } from '../../config';
import type { CreateBatchRequest } from '../../shared/contracts';
import type { CreateScheduledBatch, ScheduledBatchOptions, ScheduledRunInput } from '../../shared/schedules';
import type { FileStore } from '../../storage/files';
import type { BatchCreator, NewBatch } from '../createBatch';
import { HttpError } from '../httpError';
import { scheduledBatchId } from '../ids';
import { BatchInput } from '../v1/batchInput';
import { V1Error } from '../v1/errors';

/** The POST /batches request a run makes: its lines come from the stored file. */
export const batchRequestOf = (batch: ScheduledBatchOptions): CreateBatchRequest => ({
  requests: [],
  model: batch.model,
  priority: batch.priority,
  options: batch.options,
});

/** The stored file's lines, read as a batch's; a missing or foreign file or a bad line is a 400 naming `fileId`. */
export async function* scheduleLines(input: BatchInput, fileId: string, tenant: string): NewBatch['lines'] {
  try {
    await input.find(fileId, tenant);
    yield* input.lines(fileId);
  } catch (err) {
    if (!(err instanceof V1Error)) throw err;
    const code = err.code ?? (err.status === 404 ? 'file_not_found' : 'invalid_file');
    throw new HttpError(400, `invalid schedule: fileId: ${err.message}`, { field: 'fileId' }, code);
  }
}

/** The batch a run of `tenant`'s schedule creates (everything but the batch id and the time). */
export function scheduledBatch(
  deps: { files: FileStore; config: Config },
  tenant: Tenant,
  input: { scheduleId: string; fileId: string; batch: ScheduledBatchOptions },
): Omit<NewBatch, 'batchId' | 'nowMs'> {
  const request = batchRequestOf(input.batch);
  return {
    tenant,
    api: 'project',
    request,
    lines: scheduleLines(new BatchInput(deps.files, deps.config), input.fileId, tenant.id),
    position: 'line',
    webhookUrl: request.options?.webhook?.url ?? tenant.webhook?.url,
    scheduleId: input.scheduleId,
  };
}

export function scheduledBatchCreator(deps: {
  creator: BatchCreator;
  files: FileStore;
  config: Config;
}): CreateScheduledBatch {
  return async (run: ScheduledRunInput) => {
    const tenant = deps.config.auth.tenants.find((t) => t.id === run.tenant);
    if (!tenant) return { ok: false, code: 'unknown_tenant', reason: `tenant ${run.tenant} is not configured` };
    try {
      const created = await deps.creator.create({
        ...scheduledBatch(deps, tenant, run),
        batchId: scheduledBatchId(run.runWorkflowId),
        nowMs: Date.now(),
        idempotencyKey: run.runWorkflowId,
      });
      return { ok: true, batchId: created.id, total: created.total };
    } catch (err) {
      // A refusal (quota, a file deleted since, a line now invalid) is the run's end, not a reason to retry.
      if (err instanceof HttpError && err.status < 500)
        return { ok: false, code: err.code ?? 'refused', reason: err.message };
      throw err;
    }
  };
}
