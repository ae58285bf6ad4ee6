/**
 * Contracts shared by the API, the worker and the workflows: task queues,
 * signal/query definitions and the zod schemas of what crosses those edges.
 * No Node built-ins and no I/O here: workflow code imports this module.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';

export const TASK_QUEUE = 'llmbatch';

export const SUPPORTED_URLS = ['/v1/chat/completions', '/v1/embeddings', '/v1/responses'] as const;

/** Limits that bound every input; documented in README.md. */
export const LIMITS = {
  customIdMaxLength: 512,
  maxItemsPerBatch: 1_000_000,
  maxLineBytes: 1_000_000,
  chunkSize: 100,
} as const;

/** One request in OpenAI's batch input line format. */
export const BatchLineSchema = z.object({
  custom_id: z.string().min(1).max(LIMITS.customIdMaxLength),
  method: z.literal('POST'),
  url: z.enum(SUPPORTED_URLS),
  body: z.record(z.string(), z.unknown()),
});
export type BatchLine = z.infer<typeof BatchLineSchema>;

/** One result in OpenAI's batch output line format (also used for error lines). */
export interface BatchOutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

export const CreateBatchRequestSchema = z.object({
  requests: z.array(BatchLineSchema).min(1).max(LIMITS.maxItemsPerBatch),
  model: z.string().min(1).optional(),
});
export type CreateBatchRequest = z.infer<typeof CreateBatchRequestSchema>;

export type BatchStatus = 'running' | 'completed' | 'cancelled' | 'failed';

/** What a batch workflow starts from: ids and counts only (claim check). */
export interface BatchWorkflowInput {
  batchId: string;
  total: number;
  chunkCount: number;
  maxChunksInFlight: number;
}

export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  chunksInFlight: number;
}

export type BatchWorkflowResult = BatchProgress;

export const progressQuery = defineQuery<BatchProgress>('progress');
export const cancelSignal = defineSignal('cancel');

export const batchWorkflowId = (batchId: string): string => `batch-${batchId}`;
