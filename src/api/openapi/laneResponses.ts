/** `GET /lanes` and `PUT /lanes/limits` (lanes.ts), for the OpenAPI document; each checked against its type. */
import { z } from 'zod';
import type { RateLimits } from '../../shared/contracts';
import type { QueueRateLimit } from '../../temporal/rateLimit';
import type { Equal, Expect } from './typeChecks';

export const RateLimitsSchema = z
  .object({
    rpm: z.number().int().meta({ description: 'Requests per minute; 0: no limit.' }),
    tpm: z.number().int().meta({ description: 'Tokens per minute; 0: no limit.' }),
  })
  .meta({ id: 'RateLimits' });

const QueueRateLimitSourceSchema = z.enum(['api', 'learned', 'worker', 'none']);

/** One queue of `GET /lanes` (and the answer of `PUT /lanes/limits`), built in lanes.ts. */
export const LaneViewSchema = z
  .object({
    name: z.string().nullable().meta({ description: 'A named lane; null for the default queue and unnamed lanes.' }),
    endpoint: z.string().nullable().meta({ description: 'null: the default queue.' }),
    model: z.string().nullable(),
    taskQueue: z.string(),
    startupLimits: RateLimitsSchema,
    limit: z.object({
      source: QueueRateLimitSourceSchema.meta({
        description:
          '`worker`: from start-up; `api`: set at runtime by an admin; `learned`: set at runtime by a worker from ' +
          'the limit the provider states in its x-ratelimit-limit-* headers; `none`: no limit.',
      }),
      chunksPerSecond: z.number().nullable(),
      maxRequestsPerMinute: z.number().int().nullable(),
      maxTokensPerMinute: z.number().int().nullable(),
    }),
  })
  .meta({ id: 'Lane' });

export const LaneListSchema = z.object({ data: z.array(LaneViewSchema) });

export type LaneResponseTypeChecks = [
  Expect<Equal<z.infer<typeof RateLimitsSchema>, RateLimits>>,
  Expect<Equal<z.infer<typeof QueueRateLimitSourceSchema>, QueueRateLimit['source']>>,
];
