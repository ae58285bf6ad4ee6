/**
 * Configuration, read once from the environment and validated with zod.
 * A bad value stops start-up with a message naming the variable.
 */
import { z } from 'zod';
import {
  laneTaskQueue,
  LaneSchema,
  LIMITS,
  ModelPriceSchema,
  type LaneRef,
  type ModelPrice,
  type RateLimits,
} from './shared/contracts';
import {
  LOCAL_TENANT,
  MAX_UPLOAD_BYTES,
  TenantConfigSchema,
  WebhookSecretSchema,
  type Quotas,
  type TenantConfig,
} from './shared/tenants';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** An environment variable holding JSON, checked against `schema`. */
function jsonOf<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

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

const EnvSchema = z.object({
  LLMBATCH_DATA_DIR: z.string().min(1).default('.data'),
  /** PostgreSQL as the data plane (postgres://user:pass@host:5432/db); unset or empty: the file store under LLMBATCH_DATA_DIR. */
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
  /** How the worker's openai client reaches the provider: keepalive (node:http, src/worker/providerFetch.ts) or Node's built-in fetch. */
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
  /** JSON object: model → {input, output, batchDiscount?} in USD per million tokens. */
  LLMBATCH_PRICES: jsonOf(z.record(z.string().min(1), ModelPriceSchema)).default(DEFAULT_PRICES),
  /** JSON array of lanes, e.g. [{"model":"gpt-4o-mini","rpm":6000,"tpm":2000000}]; see LaneSchema. */
  LLMBATCH_LANES: jsonOf(z.array(LaneSchema).max(100)).default([]),
  LLMBATCH_LANE_RPM: z.coerce.number().int().min(0).default(0),
  LLMBATCH_LANE_TPM: z.coerce.number().int().min(0).default(0),
  /** keys: every route but /healthz and /readyz needs an API key. local: one tenant, no keys, loopback only. */
  LLMBATCH_AUTH: z.enum(['keys', 'local']).default('keys'),
  /** JSON array of tenants with their hashed API keys, quotas and webhook; see TenantConfigSchema. */
  LLMBATCH_TENANTS: jsonOf(z.array(TenantConfigSchema).max(10_000)).default([]),
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
});

/** Every environment variable loadConfig reads (the schema's keys); deployment tests check against it. */
export const CONFIG_ENV_VARS = Object.keys(EnvSchema.shape) as ReadonlyArray<keyof typeof EnvSchema.shape>;

export interface Config {
  dataDir: string;
  /** PostgreSQL holds batches, files and records when set; else the file store under dataDir. */
  database?: { url: string; poolSize: number };
  /** The response cache: entries older than this are not reused. */
  cache: { ttlHours: number };
  temporal: { address: string; namespace: string; uiPort: number; taskQueue: string; cliPath?: string };
  provider: {
    /** True when no real provider is configured and the bundled simulator stands in. */
    simulated: boolean;
    baseURL: string;
    apiKey: string;
    simulatorPort: number;
    /** The worker's HTTP client for provider calls (LLMBATCH_PROVIDER_HTTP). */
    http: 'keepalive' | 'fetch';
  };
  api: { host: string; port: number };
  batch: {
    /** Model of lines that name none (and whose request gives none); undefined: such lines are refused. */
    defaultModel: string | undefined;
    chunkSize: number;
    /** A chunk closes before its estimated tokens pass this. */
    chunkTokens: number;
    maxChunksInFlight: number;
    itemConcurrency: number;
    requestTimeoutMs: number;
  };
  /** Provider limits held across every worker by the default task queue's rate limit; 0 = none. */
  rateLimit: RateLimits;
  /** Lanes with a task queue (and cross-worker limit) of their own. */
  lanes: ConfiguredLane[];
  native: NativeConfig;
  prices: Record<string, ModelPrice>;
  auth: AuthConfig;
  webhooks: { allow: string[]; timeoutMs: number };
  /** Per worker process, per (endpoint, model) lane; 0 = unlimited (the provider's headers still pace us). */
  worker: {
    maxConcurrentActivities: number;
    /** Provider requests in flight at once in one worker process, across all its chunks. */
    requestConcurrency: number;
    laneLimits: RateLimits;
  };
}

export interface NativeConfig {
  /** The provider has a Batch API (`/v1/files` + `/v1/batches`). */
  enabled: boolean;
  defaultMode: 'realtime' | 'native' | 'auto';
  /** Auto picks native from this many items up. */
  autoMinItems: number;
  /** The provider's completion window. */
  windowHours: number;
  limits: { maxLines: number; maxBytes: number };
  poll: { initialMs: number; maxMs: number };
  /** Time kept before an auto batch's deadline to finish its leftovers in realtime. */
  realtimeReserveMs: number;
}

export interface AuthConfig {
  mode: 'keys' | 'local';
  /** Every tenant with its quotas filled in; in local mode, the one local tenant. */
  tenants: Tenant[];
}

export interface Tenant {
  id: string;
  /** SHA-256 hex digests of the tenant's API keys: the keys themselves are never stored. */
  keyHashes: string[];
  admin: boolean;
  quotas: Quotas;
  webhook?: { url?: string; secret?: string };
}

export interface ConfiguredLane extends LaneRef {
  limits: RateLimits;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const simulated = !e.OPENAI_BASE_URL && !e.OPENAI_API_KEY;
  if (!simulated && !e.OPENAI_API_KEY) {
    throw new ConfigError('Invalid configuration:\n  OPENAI_API_KEY: required when OPENAI_BASE_URL is set');
  }
  return {
    dataDir: e.LLMBATCH_DATA_DIR,
    database: e.DATABASE_URL === undefined ? undefined : { url: e.DATABASE_URL, poolSize: e.LLMBATCH_PG_POOL_SIZE },
    cache: { ttlHours: e.LLMBATCH_CACHE_TTL_HOURS },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      uiPort: e.TEMPORAL_UI_PORT,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cliPath: e.TEMPORAL_CLI_PATH,
    },
    provider: {
      simulated,
      baseURL:
        e.OPENAI_BASE_URL ?? (simulated ? `http://127.0.0.1:${e.PROVIDER_PORT}/v1` : 'https://api.openai.com/v1'),
      apiKey: e.OPENAI_API_KEY ?? 'sk-simulated',
      simulatorPort: e.PROVIDER_PORT,
      http: e.LLMBATCH_PROVIDER_HTTP,
    },
    api: { host: e.API_HOST, port: e.API_PORT },
    batch: {
      defaultModel: e.LLMBATCH_DEFAULT_MODEL,
      chunkSize: e.LLMBATCH_CHUNK_SIZE,
      chunkTokens: e.LLMBATCH_CHUNK_TOKENS,
      maxChunksInFlight: e.LLMBATCH_MAX_CHUNKS_IN_FLIGHT,
      itemConcurrency: e.LLMBATCH_ITEM_CONCURRENCY,
      requestTimeoutMs: e.LLMBATCH_REQUEST_TIMEOUT_MS,
    },
    rateLimit: { rpm: e.LLMBATCH_RPM, tpm: e.LLMBATCH_TPM },
    lanes: configuredLanes(e.LLMBATCH_LANES, e.TEMPORAL_TASK_QUEUE),
    native: {
      enabled: e.LLMBATCH_NATIVE === 'on',
      defaultMode: e.LLMBATCH_DEFAULT_MODE,
      autoMinItems: e.LLMBATCH_AUTO_NATIVE_MIN_ITEMS,
      windowHours: e.LLMBATCH_NATIVE_WINDOW_HOURS,
      limits: { maxLines: e.LLMBATCH_NATIVE_MAX_LINES, maxBytes: e.LLMBATCH_NATIVE_MAX_BYTES },
      poll: { initialMs: e.LLMBATCH_NATIVE_POLL_INITIAL_MS, maxMs: e.LLMBATCH_NATIVE_POLL_MAX_MS },
      realtimeReserveMs: e.LLMBATCH_REALTIME_RESERVE_MS,
    },
    prices: e.LLMBATCH_PRICES,
    auth: authConfig(e),
    webhooks: { allow: e.LLMBATCH_WEBHOOK_ALLOW, timeoutMs: e.LLMBATCH_WEBHOOK_TIMEOUT_MS },
    worker: {
      maxConcurrentActivities: e.LLMBATCH_MAX_CONCURRENT_ACTIVITIES,
      requestConcurrency: e.LLMBATCH_WORKER_CONCURRENCY,
      laneLimits: { rpm: e.LLMBATCH_LANE_RPM, tpm: e.LLMBATCH_LANE_TPM },
    },
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function authConfig(e: z.infer<typeof EnvSchema>): AuthConfig {
  const defaults: Quotas = {
    concurrentBatches: e.LLMBATCH_QUOTA_CONCURRENT_BATCHES,
    itemsPerBatch: e.LLMBATCH_QUOTA_ITEMS_PER_BATCH,
    uploadBytes: e.LLMBATCH_QUOTA_UPLOAD_BYTES,
  };
  const secret = e.LLMBATCH_WEBHOOK_SECRET;
  if (e.LLMBATCH_AUTH === 'local') {
    // Local mode has no keys, so it must not be reachable from other machines.
    if (!LOOPBACK_HOSTS.has(e.API_HOST))
      throw new ConfigError(
        `Invalid configuration:\n  API_HOST: LLMBATCH_AUTH=local binds to loopback only (127.0.0.1, ::1 or localhost), got ${e.API_HOST}`,
      );
    return {
      mode: 'local',
      tenants: [
        { id: LOCAL_TENANT, keyHashes: [], admin: true, quotas: defaults, webhook: secret ? { secret } : undefined },
      ],
    };
  }
  const tenants = e.LLMBATCH_TENANTS.map((t: TenantConfig): Tenant => ({
    id: t.id,
    keyHashes: t.keys.map((k) => k.slice('sha256:'.length)),
    admin: t.admin,
    quotas: { ...defaults, ...t.quotas },
    webhook: t.webhook || secret ? { url: t.webhook?.url, secret: t.webhook?.secret ?? secret } : undefined,
  }));
  const ids = new Set<string>();
  const hashes = new Set<string>();
  tenants.forEach((t, i) => {
    if (ids.has(t.id))
      throw new ConfigError(`Invalid configuration:\n  LLMBATCH_TENANTS.${i}.id: tenant ${t.id} is listed twice`);
    ids.add(t.id);
    for (const h of t.keyHashes) {
      if (hashes.has(h))
        throw new ConfigError(`Invalid configuration:\n  LLMBATCH_TENANTS.${i}.keys: a key is given to two tenants`);
      hashes.add(h);
    }
  });
  return { mode: 'keys', tenants };
}

function configuredLanes(lanes: z.infer<typeof LaneSchema>[], baseQueue: string): ConfiguredLane[] {
  const seen = new Set<string>();
  return lanes.map((lane, i) => {
    const taskQueue = laneTaskQueue(baseQueue, lane.endpoint, lane.model, lane.name);
    if (seen.has(taskQueue)) {
      const what =
        lane.name === undefined
          ? `${lane.endpoint} ${lane.model} is listed twice (name the lanes to split one model's quota)`
          : `the name ${lane.name} is used twice`;
      throw new ConfigError(`Invalid configuration:\n  LLMBATCH_LANES.${i}: ${what}`);
    }
    seen.add(taskQueue);
    return {
      ...(lane.name === undefined ? {} : { name: lane.name }),
      endpoint: lane.endpoint,
      model: lane.model,
      taskQueue,
      limits: { rpm: lane.rpm, tpm: lane.tpm },
    };
  });
}

/** For entry points: load config or print the reason and exit 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
