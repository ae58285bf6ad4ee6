/**
 * The environment variables loadConfig reads, with their defaults, checked with zod: the schema names
 * each variable, so a bad value is reported under its name.
 */
import { jsonText } from '../shared/jsonText';
import { z } from 'zod';
import { LaneSchema, LIMITS, ModelPriceSchema, type ModelPrice } from '../shared/contracts';
import { MAX_UPLOAD_BYTES, TenantConfigSchema, WebhookSecretSchema } from '../shared/tenants';

/** pino's levels, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A duration such as 90s, 30m, 1h or 2d, in milliseconds; a bare 0 is none. */
const duration = z
  .string()
  .trim()
  .regex(/^(0|\d+(\.\d+)?(ms|s|m|h|d))$/, 'expected a duration such as 30m, 1h or 2d, or 0 for none')
  .transform((d) => {
    const [, n, unit] = /^([\d.]+)([a-z]*)$/.exec(d) ?? [];
    return Math.round(Number(n) * (unit ? DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS] : 0));
  });

/**
 * List prices (USD per million tokens) of common models, for the cost in progress; set LLMBATCH_PRICES
 * to your own contract's. The Batch API bills half of these.
 */
const DEFAULT_PRICES: Record<string, ModelPrice> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6, batchDiscount: 0.5 },
  'gpt-4o': { input: 2.5, output: 10, batchDiscount: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, batchDiscount: 0.5 },
  'text-embedding-3-small': { input: 0.02, output: 0, batchDiscount: 0.5 },
};

export const EnvSchema = z.object({
  LLMBATCH_DATA_DIR: z.string().min(1).default('.data'),
  /**
   * PostgreSQL as the data plane (postgres://user:pass@host:5432/db); unset or empty: the file store under
   * LLMBATCH_DATA_DIR.
   */
  DATABASE_URL: z
    .string()
    .optional()
    .transform((u) => (u?.trim() ? u.trim() : undefined))
    .refine((u) => u === undefined || /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// or postgresql:// URL'),
  /** Connections in each process's pool. */
  LLMBATCH_PG_POOL_SIZE: positiveInt.max(1000).default(10),
  /** How long a cached response may be reused (the response cache across batches). */
  LLMBATCH_CACHE_TTL_HOURS: z.coerce.number().positive().default(168),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_PORT: port.default(8233),
  /**
   * Where users open the Temporal Web UI (http://127.0.0.1:8233 under `npm start`, which sets it): the web console
   * links each batch to its workflow there. Unset: the console shows no such link.
   */
  LLMBATCH_TEMPORAL_UI_URL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.url({ protocol: /^https?$/ }).optional(),
  ),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('llmbatch'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  PROVIDER_PORT: port.default(8787),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /** For lines without body.model; empty: none, and such lines are refused. */
  LLMBATCH_DEFAULT_MODEL: z
    .string()
    .default('gpt-4o-mini')
    .transform((m) => m.trim() || undefined),
  LLMBATCH_CHUNK_SIZE: positiveInt.max(1000).default(100),
  LLMBATCH_MAX_CHUNKS_IN_FLIGHT: positiveInt.max(10_000).default(16),
  LLMBATCH_ITEM_CONCURRENCY: positiveInt.max(4096).default(64),
  LLMBATCH_REQUEST_TIMEOUT_MS: positiveInt.default(60_000),
  LLMBATCH_MAX_CONCURRENT_ACTIVITIES: positiveInt.max(10_000).default(100),
  LLMBATCH_WORKER_CONCURRENCY: positiveInt.max(10_000).default(256),
  /** The worker's GET /metrics (Prometheus); unset or empty: off; 0: any free port (the start line names it). */
  LLMBATCH_WORKER_METRICS_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    port.optional(),
  ),
  LLMBATCH_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * How the worker's openai client reaches the provider: keepalive (node:http, src/worker/providerFetch.ts) or
   * Node's built-in fetch.
   */
  LLMBATCH_PROVIDER_HTTP: z.enum(['keepalive', 'fetch']).default('keepalive'),
  LLMBATCH_RPM: z.coerce.number().int().min(0).default(0),
  LLMBATCH_TPM: z.coerce.number().int().min(0).default(0),
  LLMBATCH_CHUNK_TOKENS: positiveInt.default(50_000),
  LLMBATCH_NATIVE: z.enum(['on', 'off']).default('on'),
  LLMBATCH_DEFAULT_MODE: z.enum(['realtime', 'native', 'auto']).default('realtime'),
  LLMBATCH_AUTO_NATIVE_MIN_ITEMS: positiveInt.default(10_000),
  LLMBATCH_NATIVE_WINDOW_HOURS: z.coerce.number().positive().default(24),
  LLMBATCH_NATIVE_MAX_LINES: positiveInt.max(1_000_000).default(50_000),
  LLMBATCH_NATIVE_MAX_BYTES: positiveInt.default(200 * 1024 * 1024),
  LLMBATCH_NATIVE_POLL_INITIAL_MS: positiveInt.default(30_000),
  LLMBATCH_NATIVE_POLL_MAX_MS: positiveInt.default(600_000),
  LLMBATCH_REALTIME_RESERVE_MS: z.coerce.number().int().min(0).default(3_600_000),
  /**
   * How long a completed batch with dead letters stays open for the `retryDeadLetters` signal (the Web UI's
   * retry), e.g. 1h; 0: it ends at once. `npm start` sets 1h.
   */
  LLMBATCH_RETRY_GRACE: duration.default(0),
  /** POST /requests: a gathered batch holds at most this many requests (a batch's chunk is up to 1,000). */
  LLMBATCH_GATHER_MAX_ITEMS: positiveInt.max(1000).default(100),
  /** ...and is formed once its oldest request has waited this long (ms), whichever comes first. */
  LLMBATCH_GATHER_MAX_WAIT_MS: positiveInt.max(60_000).default(200),
  /** Past this many requests of a tenant not yet in a batch, POST /requests answers 429 with Retry-After. */
  LLMBATCH_GATHER_MAX_PENDING: positiveInt.default(10_000),
  /**
   * Items per chunk of a gathered batch (LLMBATCH_CHUNK_SIZE is for the rest): a request is answered once its
   * chunk is done, so small chunks spare it waiting for a hundred others.
   */
  LLMBATCH_GATHER_CHUNK_SIZE: positiveInt.max(1000).default(10),
  /** JSON object: model → {input, output, batchDiscount?} in USD per million tokens. */
  LLMBATCH_PRICES: jsonText(z.record(z.string().min(1), ModelPriceSchema)).default(DEFAULT_PRICES),
  /** JSON array of lanes, e.g. [{"model":"gpt-4o-mini","rpm":6000,"tpm":2000000}]; see LaneSchema. */
  LLMBATCH_LANES: jsonText(z.array(LaneSchema).max(100)).default([]),
  LLMBATCH_LANE_RPM: z.coerce.number().int().min(0).default(0),
  LLMBATCH_LANE_TPM: z.coerce.number().int().min(0).default(0),
  /** keys: every route but /healthz and /readyz needs an API key. local: one tenant, no keys, loopback only. */
  LLMBATCH_AUTH: z.enum(['keys', 'local']).default('keys'),
  /** JSON array of tenants with their hashed API keys, quotas and webhook; see TenantConfigSchema. */
  LLMBATCH_TENANTS: jsonText(z.array(TenantConfigSchema).max(10_000)).default([]),
  /** Quotas of tenants that do not set their own. */
  LLMBATCH_QUOTA_CONCURRENT_BATCHES: positiveInt.default(100),
  LLMBATCH_QUOTA_ITEMS_PER_BATCH: positiveInt.max(LIMITS.maxItemsPerBatch).default(LIMITS.maxItemsPerBatch),
  LLMBATCH_QUOTA_UPLOAD_BYTES: positiveInt.max(MAX_UPLOAD_BYTES).default(MAX_UPLOAD_BYTES),
  /** Webhook signing secret (whsec_<base64>) of tenants that do not set their own, and of the local tenant. */
  LLMBATCH_WEBHOOK_SECRET: WebhookSecretSchema.optional(),
  /** Comma-separated hostnames, IPs or CIDRs that webhooks may reach even though they are private or loopback. */
  LLMBATCH_WEBHOOK_ALLOW: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  LLMBATCH_WEBHOOK_TIMEOUT_MS: positiveInt.max(50_000).default(15_000),
  /** The API's and workers' structured logs (pino): this level and above are written. */
  LLMBATCH_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

/** Every environment variable loadConfig reads (the schema's keys); deployment tests check against it. */
export const CONFIG_ENV_VARS = Object.keys(EnvSchema.shape) as ReadonlyArray<keyof typeof EnvSchema.shape>;

export type Env = z.infer<typeof EnvSchema>;
