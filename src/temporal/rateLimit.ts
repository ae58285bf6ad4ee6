/**
 * The limit that holds across every worker: Temporal's server-side rate limit on a task queue's
 * activity tasks. A chunk carries at most `maxItems` requests and `maxTokens` estimated tokens, so a
 * limit on chunks per second is a limit on requests and tokens per minute.
 *
 * Two sources, the server's order: a limit set through the task-queue config (UpdateTaskQueueConfig,
 * here or with `temporal task-queue config set`) wins while it is set; otherwise the limit each worker
 * states in its polls (LLMBATCH_RPM/TPM, a lane's rpm/tpm). Either holds only if activities reach
 * matching: eager dispatch skips it, so our worker turns eager activities off.
 */
import type { WorkflowService } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { RateLimits } from '../shared/contracts';

/**
 * Chunks per second that keep full chunks within both limits; undefined when neither is set. The whole
 * limit, with no headroom: the lanes in each worker pace requests within it and to the provider's own
 * count (x-ratelimit-* headers), so the queue's limit only shares the work out among workers.
 */
export function chunksPerSecond(
  limits: RateLimits,
  chunk: { maxItems: number; maxTokens: number },
): number | undefined {
  const rates = [
    limits.rpm > 0 ? limits.rpm / 60 / chunk.maxItems : Infinity,
    limits.tpm > 0 ? limits.tpm / 60 / chunk.maxTokens : Infinity,
  ];
  const rate = Math.min(...rates);
  return Number.isFinite(rate) ? rate : undefined;
}

const ACTIVITY_QUEUE = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;

/** The reason a worker gives when it sets a limit the provider stated, so that it reads back as `learned`. */
export const LEARNED_REASON = 'llmbatch: learned';

export const learnedReason = (limits: RateLimits): string => `${LEARNED_REASON} rpm=${limits.rpm} tpm=${limits.tpm}`;

/** Sets (or, with undefined, clears) the runtime limit of a queue's activity tasks, in chunks per second. */
export async function setQueueRateLimit(
  service: WorkflowService,
  namespace: string,
  taskQueue: string,
  perSecond: number | undefined,
  reason: string,
): Promise<void> {
  await service.updateTaskQueueConfig({
    namespace,
    identity: reason.startsWith(LEARNED_REASON) ? 'llmbatch-worker' : 'llmbatch-api',
    taskQueue,
    taskQueueType: ACTIVITY_QUEUE,
    updateQueueRateLimit:
      perSecond === undefined ? { reason } : { rateLimit: { requestsPerSecond: perSecond }, reason },
  });
}

export interface QueueRateLimit {
  /** Chunks per second the server enforces now; null: unlimited. */
  effectivePerSecond: number | null;
  /**
   * Where it comes from: the runtime config, set by an admin (api) or by a worker from the limit the
   * provider stated (learned); the workers' polls (worker); or none.
   */
  source: 'api' | 'learned' | 'worker' | 'none';
}

export async function describeQueueRateLimit(
  service: WorkflowService,
  namespace: string,
  taskQueue: string,
): Promise<QueueRateLimit> {
  const res = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: ACTIVITY_QUEUE,
    reportConfig: true,
  });
  const Source = temporal.api.enums.v1.RateLimitSource;
  const effective = res.effectiveRateLimit;
  const learned = res.config?.queueRateLimit?.metadata?.reason?.startsWith(LEARNED_REASON) === true;
  const fromApi = effective?.rateLimitSource === Source.RATE_LIMIT_SOURCE_API;
  const source = fromApi
    ? learned
      ? 'learned'
      : 'api'
    : effective?.rateLimitSource === Source.RATE_LIMIT_SOURCE_WORKER
      ? 'worker'
      : 'none';
  const perSecond = effective?.requestsPerSecond;
  return { effectivePerSecond: source === 'none' || !perSecond ? null : perSecond, source };
}
