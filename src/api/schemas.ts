/** The project API's query and body schemas beyond the shared contracts (the OpenAPI document uses them too). */
import { jsonText } from '../shared/jsonText';
import { z } from 'zod';
import {
  BatchModeSchema,
  BatchOptionsSchema,
  LaneNameSchema,
  LIMITS,
  PrioritySchema,
  SUPPORTED_URLS,
  WebhookUrlSchema,
} from '../shared/contracts';
import { BatchStatusSchema } from '../shared/statuses';

/** A boolean query parameter or metadata value: only the strings `true` and `false` (`yes`, `1` are refused). */

export const BooleanParamSchema = z.enum(['true', 'false']).transform((v) => v === 'true');

/** GET /batches: newest first; `cursor` is the `next_cursor` of the page before. */
export const ListBatchesQuerySchema = z.strictObject({
  status: BatchStatusSchema.optional(),

  created_after: z.iso.datetime({ offset: true }).optional(),
  created_before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected the next_cursor of a previous page')
    .optional(),
});

/** The longest `POST /batches?wait=…` (ms): past it, a client should poll `GET /batches/:id` (or use a webhook). */
export const MAX_WAIT_MS = 60_000;

/** The most items a waited answer holds inline; a larger batch gets 202 at once (README, Limits). */
export const INLINE_MAX_ITEMS = 10_000;

const WAIT_UNITS = { ms: 1, s: 1000, m: 60_000 } as const;

/**
 * `POST /batches?wait=30s`: how long to wait for the batch to end before answering, as `1500ms`, `30s`, `1m` or
 * plain seconds (`30`, `2.5`); at most 60 s. Parsed to milliseconds.
 */
export const WaitParamSchema = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m)?$/, 'expected a duration such as 30s, 1500ms, 1m or plain seconds (30)')
  .transform((v) => {
    const [, n = '0', unit = 's'] = /^([\d.]+)(ms|s|m)?$/.exec(v) ?? [];
    return Math.round(Number(n) * WAIT_UNITS[unit as keyof typeof WAIT_UNITS]);
  })
  .pipe(z.number().max(MAX_WAIT_MS, `at most ${MAX_WAIT_MS / 1000}s`));

/** POST /batches with `Content-Type: application/x-ndjson`: the body is the lines, the options are query parameters. */
export const NdjsonBatchQuerySchema = z.strictObject({
  model: z.string().min(1).optional(),
  priority: z.coerce.number().pipe(PrioritySchema).optional(),
  mode: BatchModeSchema.optional(),
  deadline: BatchOptionsSchema.shape.deadline,
  /** The `notBefore` option: start at this time (ISO 8601 with an offset). */
  not_before: BatchOptionsSchema.shape.notBefore,
  expiry_policy: BatchOptionsSchema.shape.expiryPolicy,
  max_attempts: z.coerce.number().pipe(z.number().int().min(1).max(20)).optional(),
  webhook_url: WebhookUrlSchema.optional(),
  lane: LaneNameSchema.optional(),
  budget_usd: z.coerce.number().pipe(BatchOptionsSchema.shape.budgetUsd.unwrap()).optional(),
  /** `true` or `false`: the `cache` option (absent: lines with temperature 0 use the cache). */
  cache: BooleanParamSchema.optional(),
  /** The `window` option as JSON text: {"start":"01:00","end":"06:00","timezone":"Europe/Berlin"}. */
  window: jsonText(BatchOptionsSchema.shape.window.unwrap()).optional(),
  /** The `outputSchema` option as JSON text (a JSON Schema object). */
  output_schema: jsonText(BatchOptionsSchema.shape.outputSchema.unwrap()).optional(),
  repair_attempts: z.coerce.number().pipe(BatchOptionsSchema.shape.repairAttempts.unwrap()).optional(),
  /** Wait for the end (submitWait.ts); a JSON body takes it too. */
  wait: WaitParamSchema.optional(),
});

/** POST /batches with a JSON body: only `wait` is read from the query string. */
export const WaitQuerySchema = z.object({ wait: WaitParamSchema.optional() });

/** GET /batches/:id/results */
export const ResultsQuerySchema = z.strictObject({
  status: z.enum(['all', 'succeeded', 'failed']).default('all'),
  /** Only failures with this error code (e.g. `retries_exhausted`, `provider_error`). */
  error_code: z.string().min(1).max(100).optional(),
  /** Only these custom_ids (comma-separated, at most 1,000). */
  custom_id: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.string().min(1)).max(1000))
    .optional(),
});

/** POST /batches/:id/retry: the new batch's settings; by default the old batch's priority and options. */
export const RetryBatchRequestSchema = z.strictObject({
  priority: PrioritySchema.optional(),
  options: BatchOptionsSchema.optional(),
});

/** POST /requests: one OpenAI-style request, gathered with others of the tenant into a batch. */
export const SingleRequestSchema = z.strictObject({
  /** The provider endpoint, as a batch line's `url`. */
  endpoint: z.enum(SUPPORTED_URLS).default('/v1/chat/completions'),
  /** The request body, as the endpoint takes it; without `model`, LLMBATCH_DEFAULT_MODEL. */
  body: z.record(z.string(), z.unknown()),
  /** The client's own id for the request, given back with its answer (need not be unique). */
  custom_id: z.string().min(1).max(LIMITS.customIdMaxLength).optional(),
});

/** POST /requests and GET /requests/:id: how long to wait for the answer (POST: 60 s by default; GET: none). */
export const RequestWaitQuerySchema = z.strictObject({ wait: WaitParamSchema.optional() });
