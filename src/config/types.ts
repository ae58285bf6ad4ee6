/** The configuration the services get from loadConfig, and the error that names a bad variable. */
import type { LaneRef, ModelPrice, RateLimits } from '../shared/contracts';
import type { Quotas } from '../shared/tenants';
import type { LOG_LEVELS } from './env';

export interface Config {
  dataDir: string;
  /** PostgreSQL holds batches, files and records when set; else the file store under dataDir. */
  database?: { url: string; poolSize: number };
  /** The response cache: entries older than this are not reused. */
  cache: { ttlHours: number };
  temporal: {
    address: string;
    namespace: string;
    uiPort: number;
    taskQueue: string;
    cliPath?: string;
  };
  provider: {
    /** True when no real provider is configured and the bundled simulator stands in. */
    simulated: boolean;
    baseURL: string;
    apiKey: string;
    simulatorPort: number;
    /** The worker's HTTP client for provider calls (LLMBATCH_PROVIDER_HTTP). */
    http: 'keepalive' | 'fetch';
  };
  api: {
    host: string;
    port: number;
    /**
     * The Temporal Web UI as users reach it (LLMBATCH_TEMPORAL_UI_URL), without a trailing slash, for the web
     * console's links to workflows; unset: no links.
     */
    temporalUiUrl?: string;
  };
  batch: {
    /** Model of lines that name none (and whose request gives none); undefined: such lines are refused. */
    defaultModel: string | undefined;
    chunkSize: number;
    /** A chunk closes before its estimated tokens pass this. */
    chunkTokens: number;
    maxChunksInFlight: number;
    itemConcurrency: number;
    requestTimeoutMs: number;
    /** A completed batch with dead letters stays open this long for `retryDeadLetters`; 0: none. */
    retryGraceMs: number;
  };
  /** POST /requests: single requests gathered per tenant and lane into batches. */
  gather: {
    /** A batch is formed at this many pending requests... */
    maxItems: number;
    /** ...or once the oldest has waited this long, whichever comes first. */
    maxWaitMs: number;
    /** Past this many requests of a tenant not yet in a batch, POST /requests answers 429. */
    maxPending: number;
    /** Items per chunk of a gathered batch: each chunk's requests are answered as soon as it is done. */
    chunkSize: number;
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
    /** Where the worker serves GET /metrics; absent: metrics off. */
    metrics?: { host: string; port: number };
  };
  /** Structured logs (LLMBATCH_LOG_LEVEL). */
  log: { level: LogLevel };
}

export type LogLevel = (typeof LOG_LEVELS)[number];

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
