/** The route table's entries for single requests gathered into batches (`/requests`; src/api/requests.ts). */
import { z } from 'zod';
import type { RequestView } from '../../shared/gather';
import { RequestWaitQuerySchema, SingleRequestSchema } from '../schemas';
import { ProviderAnswerSchema } from './responses';
import { apiError, json, jsonBody, type RouteDoc } from './routeDoc';
import type { Equal, Expect } from './typeChecks';

export const RequestViewSchema = z
  .object({
    id: z.string().meta({ description: 'The request id (`req_<24 hex>`).' }),
    custom_id: z.string().nullable().meta({ description: 'The `custom_id` the request came with, if any.' }),
    status: z.enum(['pending', 'running', 'completed', 'failed']).meta({
      description: '`pending`: not in a batch yet; `running`: in `batch_id`; `completed` or `failed`: answered.',
    }),
    batch_id: z.string().nullable().meta({ description: 'The ordinary batch it was gathered into, once it was.' }),
    created_at: z.string().meta({ description: 'When the API accepted it (ISO 8601).' }),
    response: ProviderAnswerSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({ id: 'RequestView' });

const RequestIdPath = z.object({
  request_id: z.string().meta({ description: 'A request id (`req_<24 hex>`), as `POST /requests` answered.' }),
});
const WaitQuery = RequestWaitQuerySchema.extend({
  wait: RequestWaitQuerySchema.shape.wait.meta({
    description: 'How long to wait for the answer: `30s`, `1500ms`, `1m` or plain seconds, at most 60 s.',
  }),
});
const pending = {
  description: 'Not answered within the wait: the request goes on; poll `Location` (`GET /requests/{request_id}`).',
  headers: z.object({ location: z.string().meta({ description: '`/requests/{request_id}`' }) }),
  content: { 'application/json': { schema: RequestViewSchema } },
};

export const REQUEST_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/requests',
    operationId: 'createRequest',
    summary: 'Send one request; it is gathered with others into a batch',
    description:
      "One OpenAI-style request (the tenant's, from the key). Requests are gathered per tenant and lane into " +
      'ordinary batches of at most `LLMBATCH_GATHER_MAX_ITEMS`, formed once the oldest has waited ' +
      '`LLMBATCH_GATHER_MAX_WAIT_MS` (whichever comes first), which run with all their retries, rate limits and ' +
      'priorities. A request is answered once its chunk (`LLMBATCH_GATHER_CHUNK_SIZE` requests) is done, ' +
      'within `wait` (default 60 s), or 202 with the id; `wait=0` answers 202 at once. An accepted request is durable.',
    tags: ['batches'],
    params: { query: WaitQuery },
    body: jsonBody(SingleRequestSchema.meta({ id: 'SingleRequest' })),
    responses: {
      '200': json(
        RequestViewSchema,
        'Answered within the wait: `completed` with `response`, or `failed` with `error`.',
      ),
      '202': pending,
      '400': apiError('Invalid request or `wait`: the message names the field and the reason. Nothing is stored.'),
      '429': apiError(
        'The tenant has `LLMBATCH_GATHER_MAX_PENDING` requests whose batch has not started ' +
          '(`too_many_pending_requests`); header `Retry-After` (seconds).',
      ),
    },
  },
  {
    method: 'get',
    path: '/requests/{request_id}',
    operationId: 'getRequest',
    summary: 'A single request and, once it has one, its answer',
    description: 'With `wait`, answers as soon as the request has its answer (or when the wait ends: 202).',
    tags: ['batches'],
    params: { path: RequestIdPath, query: WaitQuery },
    responses: {
      '200': json(RequestViewSchema, 'Answered: `completed` with `response`, or `failed` with `error`.'),
      '202': pending,
      '400': apiError('Invalid `wait`.'),
      '404': apiError('No such request (or not yours).'),
    },
  },
];

export type RequestTypeChecks = [Expect<Equal<z.infer<typeof RequestViewSchema>, RequestView>>];
