/**
 * Zod schemas of what the project API answers, for the OpenAPI document only (handlers build these objects
 * from their TypeScript types and never parse them; /v1's are in v1Responses.ts). Each schema is checked
 * against the TypeScript type at compile time (`ResponseTypeChecks` below): a field added, removed, renamed
 * or retyped on either side makes `tsc` fail, so the document cannot drift from the code.
 *
 * Responses built inline in a handler without a named type (the 202 answers of the batch signals, the
 * lanes view) have schemas here too; their shapes are checked by the API tests.
 */
import { z } from 'zod';
import type { BatchOutputLine, BatchProgress, LaneRef } from '../../shared/contracts';
import { BatchStatusSchema as StatusSchema, type BatchStatus } from '../../shared/statuses';
import type {
  BatchListView,
  BatchView,
  CreatedBatchView,
  ProviderBatchView,
  RetriedBatchView,
} from '../../shared/views';
import type { HttpError } from '../httpError';
import { RunWindowViewSchema } from './runWindow';
import type { Equal, Expect, Flat } from './typeChecks';

// ---------------------------------------------------------------------------------------------------
// Errors

/** The project API's errors (src/api/app.ts, errorHandler): `{error: {message, details?}}`. */
export const ApiErrorSchema = z
  .object({
    error: z.object({
      message: z
        .string()
        .meta({ description: 'What went wrong; for bad input it names the field, e.g. `requests.3.method: ...`.' }),
      details: z.unknown().optional().meta({
        description:
          'For invalid input: its issues, `[{path, message}]` for a JSON body, `{line, code}` for an NDJSON line.',
      }),
      code: z
        .string()
        .optional()
        .meta({
          description: 'A machine-readable code, where there is one.',
          examples: ['invalid_api_key', 'permission_denied', 'quota_exceeded'],
        }),
    }),
  })
  .meta({ id: 'ApiError', description: 'An error of the project API.' });
/** What errorHandler writes for an HttpError (and, without details, for every other error). */
type ApiErrorBody = {
  error: { message: HttpError['message']; details?: HttpError['details']; code?: HttpError['code'] };
};

// ---------------------------------------------------------------------------------------------------
// Project API: batches

export const BatchStatusSchema = StatusSchema.meta({ id: 'BatchStatus' });

export const LaneRefSchema = z
  .object({ name: z.string().optional(), endpoint: z.string(), model: z.string(), taskQueue: z.string() })
  .meta({ id: 'LaneRef' });

const ModeSchema = z.enum(['realtime', 'native']);

/**
 * `POST /batches` → 201 (`running`, or `scheduled` with a notBefore ahead), or 200 for a repeated Idempotency-Key
 * (the batch as it is now).
 */
export const CreatedBatchSchema = z
  .object({
    id: z.string().meta({ description: "The batch's id; its workflow is `batch-<id>`." }),
    total: z.number().int(),
    mode: ModeSchema,
    modeReason: z
      .string()
      .nullable()
      .meta({ description: 'Why this mode, when `auto` chose it; null when the mode was asked for.' }),
    status: BatchStatusSchema,
  })
  .meta({ id: 'CreatedBatch' });

export const BatchProgressSchema = z
  .object({
    batchId: z.string(),
    status: BatchStatusSchema,
    total: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
    chunksInFlight: z.number().int(),
    itemsInFlight: z.number().int().meta({
      description:
        'Items in the chunks being processed; an upper bound when chunks were closed early by their token budget.',
    }),
    priority: z.number().int().meta({ description: '1 (first) to 5 (last).' }),
    maxChunksInFlight: z.number().int(),
    tokensIn: z.number().int(),
    tokensOut: z.number().int(),
    cacheHits: z
      .number()
      .int()
      .meta({ description: 'Items answered from the response cache: no provider call, no tokens, no cost.' }),
    repaired: z
      .number()
      .int()
      .meta({ description: 'Structured outputs: repair requests sent for answers that failed their JSON Schema.' }),
    invalidOutput: z.number().int().meta({
      description: 'Structured outputs: items still invalid after their last repair (`invalid_output` dead letters).',
    }),
    steps: z
      .record(z.string(), z.object({ succeeded: z.number().int(), failed: z.number().int() }))
      .optional()
      .meta({
        description:
          'Pipelines: per step, in step order, the items that got past it and the items stopped at it (counted ' +
          'as each chunk of items ends).',
      }),
    startedAt: z.string().meta({ format: 'date-time' }),
    updatedAt: z.string().meta({ format: 'date-time' }),
    ratePerSecond: z.number().meta({ description: 'Items finished per second since the start.' }),
    eta: z.string().nullable().meta({
      format: 'date-time',
      description: 'Estimated completion at the current rate; null when unknown or paused.',
    }),
    runs: z.number().int().meta({ description: 'Workflow runs so far (each continue-as-new starts one).' }),
    error: z.string().optional().meta({ description: 'Why the batch failed, when it did.' }),
    pauseReason: z
      .enum(['budget', 'window'])
      .optional()
      .meta({
        description:
          'Why a paused batch paused itself: `budget` (its budgetUsd was reached) or `window` (its run window ' +
          'closed; it resumes when the next one opens); absent when paused by a signal.',
      }),
    budgetUsd: z.number().optional().meta({ description: "The batch's budget in USD, if it has one." }),
    notBefore: z.string().optional().meta({
      format: 'date-time',
      description: "When the batch's work starts (options.notBefore); its status is `scheduled` until then.",
    }),
    window: RunWindowViewSchema.optional(),
    lane: LaneRefSchema.nullable().meta({
      description: 'The rate-limit lane the chunks run on; null: the default queue.',
    }),
    mode: ModeSchema,
    modeReason: z.string().nullable(),
    costUsd: z.number().nullable().meta({
      description: "Cost of the tokens so far at the model's price (native: the batch price); null: price unknown.",
    }),
  })
  .meta({ id: 'BatchProgress' });

export const ProviderBatchViewSchema = z
  .object({
    index: z.number().int(),
    round: z.number().int(),
    state: z.string(),
    workflowId: z.string().nullable(),
    providerBatchId: z.string().nullable(),
    status: z.string().nullable(),
    requestCounts: z
      .object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() })
      .nullable(),
  })
  .meta({ id: 'ProviderBatch' });

/** A batch as `GET /batches/{batch_id}` and `GET /batches` show it: `{id, createdAt, retryOf, retriedBy, ...}`. */
export const BatchViewSchema = BatchProgressSchema.extend({
  id: z.string(),
  createdAt: z.string().meta({ format: 'date-time' }),
  model: z.string().nullable().meta({
    description: "The lines' model, `mixed` when they name several; null for batches from before it was kept.",
  }),
  api: z.enum(['project', 'v1']).meta({
    description: 'The API that created it: `v1` batches have output and error files (`GET /v1/batches/{id}`).',
  }),
  retryOf: z
    .string()
    .nullable()
    .meta({ description: 'The batch whose dead letters this one retries; null for a batch of its own.' }),
  retriedBy: z
    .array(z.string())
    .meta({ description: "The batches that retried this one's dead letters, oldest first." }),
  scheduleId: z.string().nullable().meta({ description: 'The schedule whose run made it (POST /schedules), or null.' }),
  providerBatches: z
    .array(ProviderBatchViewSchema)
    .optional()
    .meta({ description: 'A running native batch: its provider batches.' }),
}).meta({ id: 'Batch' });

/** `GET /batches`. */
export const BatchListSchema = z.object({
  data: z.array(BatchViewSchema),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
});

/** `POST /batches/{batch_id}/retry` → 201. */
export const RetriedBatchSchema = CreatedBatchSchema.extend({
  status: z.enum(['running', 'scheduled']),
  retryOf: z.string().meta({ description: 'The batch whose dead letters this one retries.' }),
}).meta({ id: 'RetriedBatch' });

/** One line of `GET /batches/{batch_id}/results` (OpenAI's batch output line; also the error lines). */
export const ProviderAnswerSchema = z.object({
  status_code: z.number().int(),
  request_id: z.string(),
  body: z.unknown(),
});

export const BatchOutputLineSchema = z
  .object({
    id: z.string(),
    custom_id: z.string(),
    response: ProviderAnswerSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    llmbatch: z
      .object({
        repairs: z.number().int().optional().meta({ description: 'Structured outputs: repair requests sent.' }),
        usage: z.object({ tokensIn: z.number().int(), tokensOut: z.number().int() }).optional().meta({
          description: 'Tokens of every call the item made (repairs, pipeline steps), when it made more than one.',
        }),
        errors: z
          .array(z.object({ pointer: z.string(), message: z.string() }))
          .optional()
          .meta({ description: '`invalid_output`: where (a JSON pointer) and why the last answer is not valid.' }),
        step: z.string().optional().meta({ description: 'Pipelines: the step the item stopped at.' }),
      })
      .optional()
      .meta({ description: 'What llmbatch adds: absent on a plain answer.' }),
    steps: z
      .record(z.string(), ProviderAnswerSchema)
      .optional()
      .meta({ description: "Pipelines: each step's answer by step name (those before a failed step only)." }),
  })
  .meta({ id: 'BatchOutputLine' });

/** The 202 answers of the batch signals (built inline in batches.ts). */
export const SignalAcceptedSchema = (status: 'cancelling' | 'paused' | 'running') =>
  z.object({ id: z.string(), status: z.literal(status) });
export const PriorityAcceptedSchema = z.object({ id: z.string(), priority: z.number().int() });
export const ConcurrencyAcceptedSchema = z.object({ id: z.string(), maxChunksInFlight: z.number().int() });

export const HealthSchema = z.object({ ok: z.boolean() });
/** `GET /readyz` (app.ts): 200 `{ok: true, checks}`, or 503 with the reason. */
export const ReadinessSchema = z.object({
  ok: z.boolean(),
  checks: z.object({ temporal: z.enum(['ok', 'down']), database: z.enum(['ok', 'down', 'none (file store)']) }),
  error: z.object({ message: z.string() }).optional(),
});

// ---------------------------------------------------------------------------------------------------
// The compile-time checks: each schema against the TypeScript type the handlers answer with.

export type ResponseTypeChecks = [
  Expect<Equal<z.infer<typeof ApiErrorSchema>, ApiErrorBody>>,
  Expect<Equal<z.infer<typeof BatchStatusSchema>, BatchStatus>>,
  Expect<Equal<z.infer<typeof LaneRefSchema>, LaneRef>>,
  Expect<Equal<z.infer<typeof CreatedBatchSchema>, CreatedBatchView>>,
  Expect<Equal<z.infer<typeof RetriedBatchSchema>, Flat<RetriedBatchView>>>,
  Expect<Equal<z.infer<typeof BatchProgressSchema>, BatchProgress>>,
  Expect<Equal<z.infer<typeof ProviderBatchViewSchema>, ProviderBatchView>>,
  Expect<Equal<z.infer<typeof BatchViewSchema>, Flat<BatchView>>>,
  Expect<Equal<z.infer<typeof BatchListSchema>, Flat<Omit<BatchListView, 'data'> & { data: Flat<BatchView>[] }>>>,

  Expect<Equal<z.infer<typeof BatchOutputLineSchema>, BatchOutputLine>>,
];
