/**
 * Rate-limit lanes on the API: which lane a new batch runs on, and the routes that read and change
 * each lane's cross-worker limit at runtime.
 *   GET /lanes          the default queue and every configured lane, with the limit the server enforces
 *   PUT /lanes/limits   {name? | endpoint? + model?, rpm?, tpm?}: a new limit now, no restart; rpm and tpm null: clear it
 */
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Config, ConfiguredLane } from '../config';
import { SetLaneLimitRequestSchema, type BatchLine, type LaneRef, type RateLimits } from '../shared/contracts';
import { chunksPerSecond, describeQueueRateLimit, setQueueRateLimit } from '../temporal/rateLimit';
import { requireAdmin } from './auth';
import { HttpError } from './httpError';
import { parseBody } from './validation';

const laneRef = (lane: ConfiguredLane): LaneRef => ({
  ...(lane.name === undefined ? {} : { name: lane.name }),
  endpoint: lane.endpoint,
  model: lane.model,
  taskQueue: lane.taskQueue,
});

/** The named lane, or a 400 naming the option (before anything is stored). */
export function namedLane(name: string, lanes: readonly ConfiguredLane[]): ConfiguredLane {
  const lane = lanes.find((l) => l.name === name);
  if (!lane)
    throw new HttpError(
      400,
      `invalid batch: options.lane: no lane named ${name} (lanes come from LLMBATCH_LANES)`,
      undefined,
      'unknown_lane',
    );
  return lane;
}

/**
 * The lane a batch runs on: the one it names (its lines were checked against it as they streamed), or
 * else the first configured lane of the (endpoint, model) every line shares; undefined (the default
 * queue) for a mixed batch or one no lane matches.
 */
export function laneFor(
  lines: readonly BatchLine[],
  lanes: readonly ConfiguredLane[],
  name?: string,
): LaneRef | undefined {
  if (name !== undefined) return laneRef(namedLane(name, lanes));
  const first = lines[0];
  if (!first) return undefined;
  const model = first.body.model;
  if (!lines.every((l) => l.url === first.url && l.body.model === model)) return undefined;
  const lane = lanes.find((l) => l.endpoint === first.url && l.model === model);
  return lane && laneRef(lane);
}

export function lanesRouter({ client, config }: { client: Client; config: Config }): Router {
  const router = Router();
  const chunk = { maxItems: config.batch.chunkSize, maxTokens: config.batch.chunkTokens };
  const queues = [
    { name: null, endpoint: null, model: null, taskQueue: config.temporal.taskQueue, startupLimits: config.rateLimit },
    ...config.lanes.map((l) => ({
      name: l.name ?? null,
      endpoint: l.endpoint,
      model: l.model,
      taskQueue: l.taskQueue,
      startupLimits: l.limits,
    })),
  ];

  const describe = async (q: (typeof queues)[number]) => {
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
  };

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
    res.json(await describe(queue));
  });

  return router;
}
