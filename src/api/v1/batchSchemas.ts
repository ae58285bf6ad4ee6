/**
 * What /v1/batches accepts: the create body, llmbatch's options carried in its metadata, and the list
 * query. The OpenAPI document is generated from these too (openapi/routes.ts).
 */
import { z } from 'zod';
import {
  BatchModeSchema,
  BatchOptionsSchema,
  LaneNameSchema,
  SUPPORTED_URLS,
  WebhookUrlSchema,
} from '../../shared/contracts';
import { BATCH_ID } from '../ids';
import { BooleanParamSchema } from '../schemas';
import { V1_LIMITS } from './limits';

const MetadataSchema = z
  .record(z.string().min(1).max(V1_LIMITS.metadataKeyMaxLength), z.string().max(V1_LIMITS.metadataValueMaxLength))
  .refine((m) => Object.keys(m).length <= V1_LIMITS.metadataMaxKeys, `at most ${V1_LIMITS.metadataMaxKeys} keys`);

export const CreateBatchSchema = z.strictObject({
  input_file_id: z.string().min(1).max(200),
  endpoint: z.enum(SUPPORTED_URLS),
  completion_window: z.literal('24h'),
  metadata: MetadataSchema.nullish(),
  /** Accepted and ignored: output files are kept as long as their batch. */
  output_expires_after: z
    .strictObject({
      anchor: z.literal('created_at'),
      seconds: z
        .number()
        .int()
        .min(3600)
        .max(30 * 24 * 3600),
    })
    .optional(),
});

/**
 * The metadata keys that carry llmbatch's options; any other `llmbatch_` key is refused (a typo would
 * pass silently).
 */
export const LlmbatchMetadataSchema = z.strictObject({
  llmbatch_mode: BatchModeSchema.optional(),
  llmbatch_priority: z
    .string()
    .regex(/^[1-5]$/, 'expected "1" (first) to "5" (last)')
    .transform(Number)
    .optional(),
  llmbatch_deadline: z.iso.datetime({ offset: true }).optional(),
  llmbatch_webhook_url: WebhookUrlSchema.optional(),
  llmbatch_lane: LaneNameSchema.optional(),
  llmbatch_cache: BooleanParamSchema.optional(),
  llmbatch_budget_usd: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected a number of USD, e.g. "25" or "2.50"')
    .transform(Number)
    .pipe(BatchOptionsSchema.shape.budgetUsd.unwrap())
    .optional(),
});

export const ListV1BatchesQuerySchema = z.strictObject({
  after: z.string().regex(BATCH_ID, 'expected a batch id').optional(),
  limit: z.coerce.number().int().min(1).max(V1_LIMITS.batchListMax).default(V1_LIMITS.batchListDefault),
});

/** The metadata's `llmbatch_` keys: what LlmbatchMetadataSchema checks. */
export const llmbatchKeys = (metadata: Record<string, string> | null | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => k.startsWith('llmbatch_')));
