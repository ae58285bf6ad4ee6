/**
 * OpenAI's File and Batch objects, built from what llmbatch stores: an uploaded file's metadata, and a
 * batch's OpenAI record (kept in the BatchStore beside the batch) with its progress.
 */
import type { Batch, BatchError, BatchRequestCounts, BatchUsage } from 'openai/resources/batches';
import type { FileObject as OpenAIFileObject } from 'openai/resources/files';
import { z } from 'zod';
import type { BatchProgress } from '../../shared/contracts';
import { BATCH_FAILED_CODE } from '../../shared/failures';
import { isEnded } from '../../shared/statuses';
import type { StoredFile } from '../../storage/files';
import { resultFileId, type ResultKind } from '../ids';

const seconds = (ms: number): number => Math.floor(ms / 1000);
const isoSeconds = (iso: string | undefined): number | null => {
  const ms = iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(ms) ? null : seconds(ms);
};

/** The openai package types as optional (`completed_at?: number`) what the API sends, as null when unset. */
type AsSent<T> = { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] };

/** The purposes /v1 stores: `batch` for uploads, `batch_output` for the output and error files of batches. */
export type FilePurpose = Extract<OpenAIFileObject['purpose'], 'batch' | 'batch_output'>;

/** OpenAI's File object as /v1 sends it (the package's type, with the two purposes /v1 has). */
export type FileObject = Omit<AsSent<OpenAIFileObject>, 'purpose'> & { purpose: FilePurpose };

export function fileObject(f: StoredFile): FileObject {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: seconds(f.createdAt),
    filename: f.filename,
    purpose: f.purpose as FilePurpose, // the store keeps what /v1 wrote: one of the two
    status: 'processed',
    status_details: null,
    expires_at: null,
  };
}

/** What the BatchStore keeps under the record kind `openai`. */
export const OPENAI_RECORD = 'openai';

const ResultFileStatsSchema = z.object({ bytes: z.number().int().min(0), lines: z.number().int().min(0) });

export const OpenAIBatchRecordSchema = z.object({
  id: z.string(),
  input_file_id: z.string(),
  endpoint: z.string(),
  completion_window: z.string(),
  metadata: z.record(z.string(), z.string()).nullable(),
  /** Milliseconds. */
  created_at_ms: z.number(),
  model: z.string().nullable(),
  mode: z.enum(['realtime', 'native']),
  mode_reason: z.string().nullable(),
  /** Milliseconds; set by POST /v1/batches/:id/cancel. */
  cancelling_at_ms: z.number().nullable(),
  /** Set when starting the workflow failed. */
  start_error: z.string().nullable().default(null),
  /** Sizes of the output and error files, counted once the batch has ended (results no longer change). */
  result_files: z.object({ output: ResultFileStatsSchema, error: ResultFileStatsSchema }).nullable().default(null),
});
export type OpenAIBatchRecord = z.infer<typeof OpenAIBatchRecordSchema>;

/**
 * OpenAI's Batch object as /v1 sends it: the package's type, except that /v1 always sends request_counts,
 * usage and every field of an error, which the package marks optional (older API versions omit them).
 */
export type BatchObject = Omit<AsSent<Batch>, 'errors' | 'request_counts' | 'usage'> & {
  errors: { object: 'list'; data: Required<BatchError>[] } | null;
  request_counts: BatchRequestCounts;
  usage: BatchUsage;
};

/** What the Batch object needs of a batch's progress. */
export type BatchObjectProgress = Pick<
  BatchProgress,
  'status' | 'total' | 'succeeded' | 'failed' | 'tokensIn' | 'tokensOut' | 'startedAt' | 'updatedAt' | 'error'
>;

/**
 * The batch's state. `final`: the progress is the outcome the workflow wrote to the store as it ended, so
 * the results no longer change. (The workflow reports `cancelled` as soon as a cancel arrives, while its
 * chunks are still stopping: not final yet.) `progress` null: there is no workflow (it failed to start).
 */
export type BatchState = { progress: BatchObjectProgress; final: boolean } | { progress: null; error: string };

export const isFinal = (state: BatchState): state is { progress: BatchObjectProgress; final: true } =>
  state.progress !== null && state.final;

/**
 * Statuses: running and paused → in_progress, scheduled (waiting for its notBefore time) → validating, or
 * cancelling once a cancel was asked for. A workflow that
 * reports an end it has not yet recorded is cancelling (cancelled) or finalizing (completed, failed).
 * Once recorded: completed, cancelled and failed. The output and error files exist once the outcome is
 * recorded, and only with lines.
 */
export function batchObject(record: OpenAIBatchRecord, state: BatchState): BatchObject {
  const created = seconds(record.created_at_ms);
  const cancelling = record.cancelling_at_ms === null ? null : seconds(record.cancelling_at_ms);
  const p = state.progress;
  const base = {
    id: record.id,
    object: 'batch' as const,
    endpoint: record.endpoint,
    model: record.model,
    input_file_id: record.input_file_id,
    completion_window: record.completion_window,
    created_at: created,
    expires_at: created + 24 * 3600,
    expired_at: null,
    metadata: record.metadata,
  };
  if (p === null) {
    return {
      ...base,
      status: 'failed',
      errors: { object: 'list', data: [{ code: BATCH_FAILED_CODE, message: state.error, param: null, line: null }] },
      output_file_id: null,
      error_file_id: null,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: created,
      cancelling_at: cancelling,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      usage: usage(0, 0),
    };
  }
  const ended = state.final ? isoSeconds(p.updatedAt) : null;
  const status: Batch['status'] = state.final
    ? (p.status as Batch['status']) // ended: completed, cancelled or failed, OpenAI's names too
    : p.status === 'cancelled' || cancelling !== null
      ? 'cancelling'
      : isEnded(p.status)
        ? 'finalizing'
        : p.status === 'scheduled'
          ? 'validating' // OpenAI has no "not started yet": its state before in_progress
          : 'in_progress';
  const file = (kind: ResultKind, count: number): string | null =>
    ended !== null && count > 0 ? resultFileId(record.id, kind) : null;
  return {
    ...base,
    status,
    errors:
      p.status === 'failed'
        ? {
            object: 'list',
            data: [{ code: BATCH_FAILED_CODE, message: p.error ?? 'the batch failed', param: null, line: null }],
          }
        : null,
    output_file_id: file('output', p.succeeded),
    error_file_id: file('error', p.failed),
    in_progress_at: status === 'validating' ? null : (isoSeconds(p.startedAt) ?? created),
    finalizing_at: status === 'finalizing' || status === 'completed' ? (ended ?? isoSeconds(p.updatedAt)) : null,
    completed_at: status === 'completed' ? ended : null,
    failed_at: status === 'failed' ? ended : null,
    cancelling_at: cancelling ?? (p.status === 'cancelled' ? isoSeconds(p.updatedAt) : null),
    cancelled_at: status === 'cancelled' ? ended : null,
    request_counts: { total: p.total, completed: p.succeeded, failed: p.failed },
    usage: usage(p.tokensIn, p.tokensOut),
  };
}

function usage(input: number, output: number): BatchUsage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

/** One page of an OpenAI list: `data` with the ids that bound it, so a client pages on with `after=last_id`. */
export function listPage<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}
