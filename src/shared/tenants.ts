/**
 * Tenants: who owns batches and files. Configured in LLMBATCH_TENANTS (JSON); API keys are given as
 * SHA-256 digests (`npm run key` makes a key and its digest), so the configuration never holds a key.
 * No Node built-ins here: the config, the API and the worker share it.
 */
import { z } from 'zod';

/** The one tenant of local mode (LLMBATCH_AUTH=local). */
export const LOCAL_TENANT = 'local';

/** One uploaded file or NDJSON body (OpenAI's limit for batch input files). */
export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

export const TenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected 1-63 characters: a-z, 0-9, _ and -, starting with a letter or digit');

/** Standard Webhooks secrets: `whsec_` then base64 of 24 to 64 random bytes. */
export const WebhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'expected whsec_ followed by base64 of 24 to 64 bytes');

export const QuotasSchema = z.strictObject({
  /** Batches of the tenant running at once (not yet ended). */
  concurrentBatches: z.number().int().positive(),
  /** Requests in one batch. */
  itemsPerBatch: z.number().int().positive(),
  /** Bytes of one upload: a /v1 file or an NDJSON body. */
  uploadBytes: z.number().int().positive().max(MAX_UPLOAD_BYTES),
});
export type Quotas = z.infer<typeof QuotasSchema>;

export const TenantConfigSchema = z.strictObject({
  id: TenantIdSchema,
  keys: z
    .array(z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits> (npm run key prints one)'))
    .min(1)
    .max(100),
  /** Admins may also change rate-limit lanes (PUT /lanes/limits). */
  admin: z.boolean().default(false),
  quotas: QuotasSchema.partial().optional(),
  /** The tenant's webhook: a URL called for every batch (unless a batch names its own), and the signing secret. */
  webhook: z
    .strictObject({ url: z.url({ protocol: /^https?$/ }).optional(), secret: WebhookSecretSchema.optional() })
    .optional(),
});
export type TenantConfig = z.infer<typeof TenantConfigSchema>;
