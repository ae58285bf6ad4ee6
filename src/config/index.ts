/**
 * Configuration, read once from the environment and validated with zod.
 * A bad value stops start-up with a message naming the variable.
 */
import { authConfig } from './auth';
import { EnvSchema } from './env';
import { configuredLanes } from './lanes';
import { createLogger } from '../logging/logger';
import { ConfigError, type Config } from './types';

export { CONFIG_ENV_VARS } from './env';
export { ConfigError } from './types';
export type { AuthConfig, Config, ConfiguredLane, LogLevel, NativeConfig, Tenant } from './types';

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
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      temporalUiUrl: e.LLMBATCH_TEMPORAL_UI_URL?.replace(/\/+$/, ''),
    },
    batch: {
      defaultModel: e.LLMBATCH_DEFAULT_MODEL,
      chunkSize: e.LLMBATCH_CHUNK_SIZE,
      chunkTokens: e.LLMBATCH_CHUNK_TOKENS,
      maxChunksInFlight: e.LLMBATCH_MAX_CHUNKS_IN_FLIGHT,
      itemConcurrency: e.LLMBATCH_ITEM_CONCURRENCY,
      requestTimeoutMs: e.LLMBATCH_REQUEST_TIMEOUT_MS,
      retryGraceMs: e.LLMBATCH_RETRY_GRACE,
    },
    gather: {
      maxItems: e.LLMBATCH_GATHER_MAX_ITEMS,
      maxWaitMs: e.LLMBATCH_GATHER_MAX_WAIT_MS,
      maxPending: e.LLMBATCH_GATHER_MAX_PENDING,
      chunkSize: e.LLMBATCH_GATHER_CHUNK_SIZE,
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
      metrics:
        e.LLMBATCH_WORKER_METRICS_PORT === undefined
          ? undefined
          : { host: e.LLMBATCH_WORKER_METRICS_HOST, port: e.LLMBATCH_WORKER_METRICS_PORT },
    },
    log: { level: e.LLMBATCH_LOG_LEVEL },
  };
}

/**
 * For entry points: load config or log the reason and exit 1. The level is not known yet (it is part of what
 * failed), so the line goes out at fatal, which every level writes.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      createLogger({ level: 'info', name: 'config' }).fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
}
