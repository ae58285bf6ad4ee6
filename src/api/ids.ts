/**
 * Ids of batches (both APIs) and /v1 files. `file-<24 hex>` and `batch_<24 hex>`: 12 hex digits of
 * milliseconds (strictly increasing within a process), then 12 random ones, so that id order is creation
 * order and lists page by id. A batch id is also its store id (the workflow is `batch-<id>`). The output
 * and error files of a batch are virtual: `file-<batch id>_output` and `file-<batch id>_error` are served
 * from its results.
 */
import { createHash, randomBytes } from 'node:crypto';

export const BATCH_ID = /^batch_[0-9a-f]{24}$/;
export const UPLOADED_FILE_ID = /^file-[0-9a-f]{24}$/;
const RESULT_FILE_ID = /^file-(batch_[0-9a-f]{24})_(output|error)$/;

let last = 0;

function sortable(prefix: string): string {
  last = Math.max(Date.now(), last + 1);
  return `${prefix}${last.toString(16).padStart(12, '0')}${randomBytes(6).toString('hex')}`;
}

export const newBatchId = (): string => sortable('batch_');
export const newFileId = (): string => sortable('file-');
/** A single request of POST /requests (REQUEST_ID in shared/gather.ts). */
export const newRequestId = (): string => sortable('req_');

export const newScheduleId = (): string => sortable('sched_');

/**
 * The batch a schedule's run creates, from the run's workflow id alone, so that a retried activity finds the batch
 * it already created, and a schedule's description can name each run's batch. Temporal ends the id with the run's
 * nominal time, which leads the id as in every other batch id: scheduled batches list in the order they were due.
 */
export function scheduledBatchId(runWorkflowId: string): string {
  const due = /-(\d{4}-\d{2}-\d{2}T[\d:.]+Z)$/.exec(runWorkflowId)?.[1];
  const ms = due === undefined ? 0 : Date.parse(due) || 0;
  const digest = createHash('sha256').update(runWorkflowId).digest('hex');
  return `batch_${ms.toString(16).padStart(12, '0')}${digest.slice(0, 12)}`;
}

export type ResultKind = 'output' | 'error';

export const resultFileId = (batchId: string, kind: ResultKind): string => `file-${batchId}_${kind}`;

export function parseResultFileId(id: string): { batchId: string; kind: ResultKind } | undefined {
  const m = RESULT_FILE_ID.exec(id);
  return m ? { batchId: m[1] as string, kind: m[2] as ResultKind } : undefined;
}
