/**
 * Zod schemas of what `/v1` answers (OpenAI's objects and errors), for the OpenAPI document only; each is
 * checked against the TypeScript type the handlers answer with at compile time (`V1ResponseTypeChecks`).
 */
import type { Batch } from 'openai/resources/batches';
import { z } from 'zod';
import type { V1Error } from '../v1/errors';
import type { BatchObject, FileObject } from '../v1/objects';
import type { Equal, Expect, Flat, Mutable } from './typeChecks';

/** Errors under /v1, in OpenAI's shape (src/api/v1/errors.ts, v1ErrorHandler). */
export const OpenAIErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().meta({
        description: '`invalid_request_error` for 4xx, `server_error` for 5xx.',
        examples: ['invalid_request_error'],
      }),
      param: z.string().nullable().meta({ description: 'The offending field, e.g. `metadata.llmbatch_priority`.' }),
      code: z
        .string()
        .nullable()
        .meta({ examples: ['invalid_value', 'batch_not_cancellable'] }),
    }),
  })
  .meta({ id: 'OpenAIError', description: "An error under /v1, in OpenAI's shape." });
type OpenAIErrorBody = { error: Mutable<Pick<V1Error, 'message' | 'type' | 'param' | 'code'>> };

const unixSeconds = z.number().int().meta({ description: 'Unix seconds.' });

export const FileObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: unixSeconds,
    filename: z.string(),
    purpose: z
      .enum(['batch', 'batch_output'])
      .meta({ description: '`batch` for uploads, `batch_output` for the output and error files of batches.' }),
    status: z.enum(['uploaded', 'processed', 'error']).meta({ description: 'Always `processed`: checked on arrival.' }),
    status_details: z.string().nullable(),
    expires_at: unixSeconds.nullable().meta({ description: 'Always null: files are kept until deleted.' }),
  })
  .meta({ id: 'FileObject' });

export const OpenAIBatchStatusSchema = z.enum([
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
]);

const countSchema = z.number().int();

export const BatchObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal('batch'),
    endpoint: z.string(),
    model: z.string().nullable(),
    errors: z
      .object({
        object: z.literal('list'),
        data: z.array(
          z.object({
            code: z.string(),
            message: z.string(),
            param: z.string().nullable(),
            line: z.number().int().nullable(),
          }),
        ),
      })
      .nullable(),
    input_file_id: z.string(),
    completion_window: z.string(),
    status: OpenAIBatchStatusSchema,
    output_file_id: z.string().nullable(),
    error_file_id: z.string().nullable(),
    created_at: unixSeconds,
    in_progress_at: unixSeconds.nullable(),
    expires_at: unixSeconds.nullable(),
    finalizing_at: unixSeconds.nullable(),
    completed_at: unixSeconds.nullable(),
    failed_at: unixSeconds.nullable(),
    expired_at: unixSeconds.nullable().meta({ description: 'Always null: llmbatch does not let a batch expire.' }),
    cancelling_at: unixSeconds.nullable(),
    cancelled_at: unixSeconds.nullable(),
    request_counts: z.object({ total: countSchema, completed: countSchema, failed: countSchema }),
    metadata: z.record(z.string(), z.string()).nullable(),
    usage: z.object({
      input_tokens: countSchema,
      input_tokens_details: z.object({ cached_tokens: countSchema }),
      output_tokens: countSchema,
      output_tokens_details: z.object({ reasoning_tokens: countSchema }),
      total_tokens: countSchema,
    }),
  })
  .meta({ id: 'BatchObject' });

/** OpenAI's list envelope (`GET /v1/files`, `GET /v1/batches`). */
export const ListOf = <T extends z.ZodType>(item: T) =>
  z.object({
    object: z.literal('list'),
    data: z.array(item),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  });

export const FileDeletedSchema = z.object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) });

export type V1ResponseTypeChecks = [
  Expect<Equal<z.infer<typeof OpenAIErrorSchema>, OpenAIErrorBody>>,
  Expect<Equal<z.infer<typeof FileObjectSchema>, Flat<FileObject>>>,
  Expect<Equal<z.infer<typeof OpenAIBatchStatusSchema>, Batch['status']>>,
  Expect<Equal<z.infer<typeof BatchObjectSchema>, Flat<BatchObject>>>,
];
