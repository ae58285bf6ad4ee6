/**
 * Rate-limit lanes on the API: the routes that read and change each lane's cross-worker limit at
 * runtime (which lane a new batch runs on is part of its plan, plan.ts).
 *   GET /lanes          the default queue and every configured lane, with the limit the server enforces
 *   PUT /lanes/limits   {name? | endpoint? + model?, rpm?, tpm?}: a new limit now, no restart;
 *                       rpm and tpm null: clear it
 */
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Config } from '../config';
import type { RateLimits } from '../shared/contracts';
import { SetLaneLimitRequestSchema } from '../shared/laneLimits';
import { chunksPerSecond, describeQueueRateLimit, setQueueRateLimit } from '../temporal/rateLimit';
import { requireAdmin } from './auth';
import { HttpError } from './httpError';
import { parseBody } from './validation';

/** A task queue whose limit GET /lanes reports: the default queue, then each lane of LLMBATCH_LANES. */
export interface LaneQueue {
  name: string | null;
  endpoint: string | null;
  model: string | null;
  taskQueue: string;
  startupLimits: RateLimits;
}

export function laneQueues(config: Config): LaneQueue[] {
  return [
    { name: null, endpoint: null, model: null, taskQueue: config.temporal.taskQueue, startupLimits: config.rateLimit },
    ...config.lanes.map((l) => ({
      name: l.name ?? null,
      endpoint: l.endpoint,
      model: l.model,
      taskQueue: l.taskQueue,
      startupLimits: l.limits,
    })),
  ];
}

/** A queue with the limit the server enforces now (GET /lanes; the API's llmbatch_lane_limit gauge). */
export async function describeLane(client: Client, config: Config, q: LaneQueue) {
  const chunk = { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens };
  const limit = await describeQueueRateLimit(client.workflowService, config.temporal.namespace, q.taskQueue);
  const perSecond = limit.effectivePerSecond;
  return {
    name: q.name,
    endpoint: q.endpoint,
    model: q.model,
    taskQueue: q.taskQueue,
    startupLimits: q.startupLimits,
    limit: {
      source: limit.source,
      chunksPerSecond: perSecond,
      // A chunk holds at most chunkSize requests and chunkTokens estimated tokens.
      maxRequestsPerMinute: perSecond === null ? null : Math.floor(perSecond * 60 * chunk.maxItems),
      maxTokensPerMinute: perSecond === null ? null : Math.floor(perSecond * 60 * chunk.maxTokens),
    },
  };
}

/** How long PUT /lanes/limits waits for the server to report the limit it just took (a loaded server lags). */
const APPLY_WAIT_MS = 3000;
const APPLY_POLL_MS = 100;

/**
 * The lane as described once the server reports `perSecond` as enforced, or after APPLY_WAIT_MS. A cleared limit
 * (undefined) falls back to whatever the workers set, so there is nothing to wait for.
 */
async function describeOnceApplied<D extends { limit: { chunksPerSecond: number | null } }>(
  describe: () => Promise<D>,
  perSecond: number | undefined,
): Promise<D> {
  const deadline = Date.now() + APPLY_WAIT_MS;
  for (;;) {
    const lane = await describe();
    const shown = lane.limit.chunksPerSecond;
    // Relative: the server keeps the rate as a float.
    const applied = perSecond === undefined || (shown !== null && Math.abs(shown - perSecond) <= 1e-6 * perSecond);
    if (applied || Date.now() >= deadline) return lane;
    await new Promise((done) => setTimeout(done, APPLY_POLL_MS));
  }
}

export function lanesRouter({ client, config }: { client: Client; config: Config }): Router {
  const router = Router();
  const chunk = { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens };
  const queues = laneQueues(config);
  const describe = (q: LaneQueue) => describeLane(client, config, q);

  router.get('/lanes', async (_req, res) => {
    res.json({ data: await Promise.all(queues.map(describe)) });
  });

  router.put('/lanes/limits', async (req, res) => {
    requireAdmin(res); // a lane's limit is shared by every tenant
    const body = parseBody(SetLaneLimitRequestSchema, req.body, 'lane limit');
    const queue =
      body.name !== undefined
        ? queues.find((q) => q.name === body.name)
        : queues.find(
            (q) => q.name === null && q.endpoint === (body.endpoint ?? null) && q.model === (body.model ?? null),
          );
    if (!queue)
      throw new HttpError(
        404,
        `no lane ${body.name ?? `for ${body.endpoint} ${body.model}`}: lanes come from LLMBATCH_LANES`,
      );
    const clear = (body.rpm ?? null) === null && (body.tpm ?? null) === null;
    const limits: RateLimits = { rpm: body.rpm ?? 0, tpm: body.tpm ?? 0 };
    const perSecond = clear ? undefined : chunksPerSecond(limits, chunk);
    if (!clear && perSecond === undefined)
      throw new HttpError(
        400,
        'invalid lane limit: rpm and tpm are both 0; send them as null to clear the runtime limit',
      );
    const reason = clear ? 'llmbatch: cleared' : `llmbatch: rpm=${limits.rpm} tpm=${limits.tpm}`;
    await setQueueRateLimit(client.workflowService, config.temporal.namespace, queue.taskQueue, perSecond, reason);
    res.json(await describeOnceApplied(() => describe(queue), perSecond));
  });

  return router;
}
