/**
 * OpenAI's File and Batch objects, built from what llmbatch stores: an uploaded file's metadata, and a
 * batch's OpenAI record (kept in the BatchStore beside the batch) with its progress.
 */
import { z } from 'zod';
import type { BatchProgress } from '../../shared/contracts';
import type { StoredFile } from '../../storage/files';
import { resultFileId, type ResultKind } from '../ids';

const seconds = (ms: number): number => Math.floor(ms / 1000);
const isoSeconds = (iso: string | undefined): number | null => {
  const ms = iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(ms) ? null : seconds(ms);
};

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
  expires_at: null;
}

export function fileObject(f: StoredFile): FileObject {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: seconds(f.createdAt),
    filename: f.filename,
    purpose: f.purpose,
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

export type OpenAIBatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: {
    object: 'list';
    data: Array<{ code: string; message: string; param: string | null; line: number | null }>;
  } | null;
  input_file_id: string;
  completion_window: string;
  status: OpenAIBatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  };
}

const ENDING: ReadonlySet<BatchProgress['status']> = new Set(['completed', 'cancelled', 'failed']);

/** What the Batch object needs of a batch's progress. */
export type ProgressView = Pick<
  BatchProgress,
  'status' | 'total' | 'succeeded' | 'failed' | 'tokensIn' | 'tokensOut' | 'startedAt' | 'updatedAt' | 'error'
>;

/**
 * The batch's state. `final`: the progress is the outcome the workflow wrote to the store as it ended, so
 * the results no longer change. (The workflow reports `cancelled` as soon as a cancel arrives, while its
 * chunks are still stopping: not final yet.) `progress` null: there is no workflow (it failed to start).
 */
export type BatchState = { progress: ProgressView; final: boolean } | { progress: null; error: string };

export const isFinal = (state: BatchState): state is { progress: ProgressView; final: true } =>
  state.progress !== null && state.final;

/**
 * Statuses: running and paused → in_progress, or cancelling once a cancel was asked for. A workflow that
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
      errors: { object: 'list', data: [{ code: 'batch_failed', message: state.error, param: null, line: null }] },
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
  const status: OpenAIBatchStatus = state.final
    ? (p.status as OpenAIBatchStatus)
    : p.status === 'cancelled' || cancelling !== null
      ? 'cancelling'
      : ENDING.has(p.status)
        ? 'finalizing'
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
            data: [{ code: 'batch_failed', message: p.error ?? 'the batch failed', param: null, line: null }],
          }
        : null,
    output_file_id: file('output', p.succeeded),
    error_file_id: file('error', p.failed),
    in_progress_at: isoSeconds(p.startedAt) ?? created,
    finalizing_at: status === 'finalizing' || status === 'completed' ? (ended ?? isoSeconds(p.updatedAt)) : null,
    completed_at: status === 'completed' ? ended : null,
    failed_at: status === 'failed' ? ended : null,
    cancelling_at: cancelling ?? (p.status === 'cancelled' ? isoSeconds(p.updatedAt) : null),
    cancelled_at: status === 'cancelled' ? ended : null,
    request_counts: { total: p.total, completed: p.succeeded, failed: p.failed },
    usage: usage(p.tokensIn, p.tokensOut),
  };
}

function usage(input: number, output: number): BatchObject['usage'] {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}
