/** Builds a worker from its dependencies; `main.ts` and the tests both use it. */
import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import OpenAI from 'openai';
import { createActivities } from '../activities';
import { createGatherActivities } from '../activities/gather';
import { createNativeActivities } from '../activities/native';
import { createScheduleActivities } from '../activities/schedules';
import { BatchCreator } from '../api/createBatch';
import { scheduledBatchCreator } from '../api/schedules/run';
import { createWebhookActivities } from '../activities/webhook';
import type { WebhookSettings } from '../webhooks/settings';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logging/logger';
import type { WorkerMetrics } from '../metrics/workerMetrics';
import type { ResponseCache } from '../storage/cache';
import { LocalFileStore, type FileStore } from '../storage/files';
import { FileRequestStore, type RequestStore } from '../storage/requests';
import type { SlotStore } from '../storage/slots';
import type { BatchStore } from '../storage/types';
import { nativeTaskQueue, type RateLimits } from '../shared/contracts';
import { chunksPerSecond } from '../temporal/rateLimit';
import { cachedWorkflowBundle } from './bundleCache';
import { prebuiltBundlePath, runsCompiled } from './bundleWorkflows';
import { LearnedLimits } from './learnedLimits';
import { providerFetch } from './providerFetch';
import { gatherDeps } from './gatherCreator';
import { WorkerGroup } from './workerGroup';

export interface WorkerDeps {
  connection: NativeConnection;
  config: Config;
  store: BatchStore;
  /** The response cache of the same data plane as `store` (openStorage gives both). */
  cache: ResponseCache;
  /** Where schedules' input files are (openStorage gives it); by default the file store under the data dir. */
  files?: FileStore;
  /** Gathered single requests (POST /requests); by default the file store's, which needs no DATABASE_URL. */
  requests?: RequestStore;
  /** Concurrent-batch slots (PostgreSQL): batches a schedule's run or the gatherer creates count like the API's. */
  slots?: SlotStore;
  openai?: OpenAI;
  /** The process's logger (workerMain's); by default one of its own at LLMBATCH_LOG_LEVEL. */
  logger?: Logger;
  /** A prebuilt bundle (tests bundle once per file); otherwise see workflowCode. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where the activities count what they do (startWorkerTelemetry); absent: metrics off. */
  metrics?: WorkerMetrics;
}

/**
 * Temporal does the retrying, so the client must not retry on its own. Realtime calls go through
 * providerFetch (keep-alive node:http, about half the CPU of the built-in fetch per request) unless
 * LLMBATCH_PROVIDER_HTTP=fetch. Native mode's client keeps the built-in fetch: providerFetch reads each
 * answer whole, and native collection streams output files of up to 200 MB into the store as they arrive.
 */
export function createOpenAIClient(config: Config, use: 'realtime' | 'native' = 'realtime'): OpenAI {
  return new OpenAI({
    baseURL: config.provider.baseURL,
    apiKey: config.provider.apiKey,
    maxRetries: 0,
    timeout: config.batch.requestTimeoutMs,
    ...(use === 'realtime' && config.provider.http === 'keepalive'
      ? { fetch: providerFetch({ maxSockets: config.worker.requestConcurrency }) }
      : {}),
  });
}

/** What webhook delivery needs from the config: the allow-list, the timeout, and each tenant's secret. */
export function webhookSettings(config: Config): WebhookSettings {
  const secrets = new Map(
    config.auth.tenants.flatMap((t) => (t.webhook?.secret ? [[t.id, t.webhook.secret] as const] : [])),
  );
  return {
    allow: config.webhooks.allow,
    timeoutMs: config.webhooks.timeoutMs,
    secretFor: (tenant) => secrets.get(tenant),
  };
}

/**
 * The workflow code a worker runs. Compiled (dist/, what the Dockerfile and compose run): the bundle
 * `npm run build` wrote beside it, so no webpack at start-up. Under tsx (development, `npm start`):
 * the workflow sources, bundled at start-up.
 */
async function workflowCode(given: WorkerDeps['workflowBundle']): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  if (given) return { workflowBundle: given };
  if (!runsCompiled()) return { workflowBundle: { codePath: await cachedWorkflowBundle() } };
  const codePath = prebuiltBundlePath();
  if (!existsSync(codePath)) throw new Error(`no workflow bundle at ${codePath}: run \`npm run build\``);
  return { workflowBundle: { codePath } };
}

/**
 * A schedule's run and a gatherer's flush create their batches with the API's BatchCreator, as POST /batches does:
 * one way of creating a batch.
 */
function creationActivities(deps: WorkerDeps) {
  const { connection, config, store, slots } = deps;
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const files = deps.files ?? new LocalFileStore(config.dataDir);
  const creator = new BatchCreator({ client, store, config, slots });
  return {
    ...createScheduleActivities({ client, createBatch: scheduledBatchCreator({ creator, files, config }) }),
    ...createGatherActivities(gatherDeps({ client, creator, config, requests: requestStore(deps, config) })),
  };
}

function requestStore(deps: WorkerDeps, config: Config): RequestStore {
  if (deps.requests) return deps.requests;
  if (config.database) throw new Error('createWorker: with DATABASE_URL, pass the requests store of openStorage');
  return new FileRequestStore(config.dataDir);
}

export async function createWorker(deps: WorkerDeps): Promise<WorkerGroup> {
  const { connection, config, store } = deps;
  const openai = deps.openai ?? createOpenAIClient(config);
  const nativeOpenai = deps.openai ?? createOpenAIClient(config, 'native');
  const logger = deps.logger ?? createLogger({ level: config.log.level, name: 'worker' });
  const learned = new LearnedLimits(connection.workflowService, config, (message) => logger.warn(message));
  const activities = {
    ...createActivities({
      openai,
      store,
      config: {
        itemConcurrency: config.batch.itemConcurrency,
        requestConcurrency: config.worker.requestConcurrency,
        laneLimits: config.worker.laneLimits,
      },
      responseCache: { cache: deps.cache, ttlMs: config.cache.ttlHours * 3_600_000 },
      onLearnedLimits: learned.onLearned,
      metrics: deps.metrics,
    }),
    ...createNativeActivities({ openai: nativeOpenai, store, metrics: deps.metrics }),
    ...createWebhookActivities({ settings: webhookSettings(config) }),
    ...creationActivities(deps),
  };
  const chunkBounds = { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens };
  const activityOptions = (limits: RateLimits): Omit<WorkerOptions, 'taskQueue'> => ({
    connection,
    namespace: config.temporal.namespace,
    activities,
    // Chunk activities per queue in this process; each runs up to LLMBATCH_ITEM_CONCURRENCY requests.
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    // RPM/TPM as chunks per second, enforced by the server across every worker on the queue. A limit set
    // at runtime through the task-queue config (PUT /lanes/limits) takes precedence while it is set.
    maxTaskQueueActivitiesPerSecond: chunksPerSecond(limits, chunkBounds),
    // Cancellation reaches activities through heartbeats; flush them often so a cancel lands within seconds.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  const main = await Worker.create({
    ...activityOptions(config.rateLimit),
    taskQueue: config.temporal.taskQueue,
    ...(await workflowCode(deps.workflowBundle)),
    // An activity handed back eagerly with the workflow task never reaches matching, where the queue's
    // rate limit is enforced (temporalio/temporal#6800): without this, a limit set at runtime is bypassed.
    maxEagerActivityReservationsPerWorkflowTask: 0,
  });
  const lanes = await Promise.all(
    config.lanes.map((lane) => Worker.create({ ...activityOptions(lane.limits), taskQueue: lane.taskQueue })),
  );
  // Native mode's file and batch calls: no RPM/TPM limit applies to them.
  const native = await Worker.create({
    ...activityOptions({ rpm: 0, tpm: 0 }),
    taskQueue: nativeTaskQueue(config.temporal.taskQueue),
  });
  return new WorkerGroup([main, ...lanes, native]);
}
