/** Builds a worker from its dependencies; `main.ts` and the tests both use it. */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import OpenAI from 'openai';
import { createActivities } from '../activities';
import type { Config } from '../config';
import type { BatchStore } from '../storage/types';
import { chunksPerSecond } from '../temporal/rateLimit';

export interface WorkerDeps {
  connection: NativeConnection;
  config: Config;
  store: BatchStore;
  openai?: OpenAI;
  /** A prebuilt bundle (tests bundle once per file); otherwise workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Temporal does the retrying, so the client must not retry on its own. */
export function createOpenAIClient(config: Config): OpenAI {
  return new OpenAI({
    baseURL: config.provider.baseURL,
    apiKey: config.provider.apiKey,
    maxRetries: 0,
    timeout: config.batch.requestTimeoutMs,
  });
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { connection, config, store } = deps;
  const openai = deps.openai ?? createOpenAIClient(config);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({
      openai,
      store,
      config: {
        itemConcurrency: config.batch.itemConcurrency,
        requestConcurrency: config.worker.requestConcurrency,
        laneLimits: config.worker.laneLimits,
      },
    }),
    // Chunk activities per worker process; each runs up to LLMBATCH_ITEM_CONCURRENCY requests.
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    // LLMBATCH_RPM/TPM as chunks per second: enforced by the server across every worker on the queue.
    maxTaskQueueActivitiesPerSecond: chunksPerSecond(config.rateLimit, { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens }),
    // Cancellation reaches activities through heartbeats; flush them often so a cancel lands within seconds.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
}
