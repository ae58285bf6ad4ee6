/** The route table's entries for the probes, this document and the project API (`/batches`, `/lanes`). */
import { z } from 'zod';
import {
  BatchLineSchema,
  CreateBatchRequestSchema,
  SetConcurrencyRequestSchema,
  SetPriorityRequestSchema,
} from '../../shared/contracts';
import { SetLaneLimitRequestSchema } from '../../shared/laneLimits';
import {
  ListBatchesQuerySchema,
  NdjsonBatchQuerySchema,
  ResultsQuerySchema,
  RetryBatchRequestSchema,
} from '../schemas';
import {
  BatchListSchema,
  BatchOutputLineSchema,
  BatchViewSchema,
  ConcurrencyAcceptedSchema,
  CreatedBatchSchema,
  HealthSchema,
  PriorityAcceptedSchema,
  ReadinessSchema,
  RetriedBatchSchema,
  SignalAcceptedSchema,
} from './responses';
import { LaneListSchema, LaneViewSchema } from './laneResponses';
import { apiError, IdempotencyHeader, json, jsonBody, type RouteDoc } from './routeDoc';
import { createdOrWaited, WaitParam, waiting } from './waitResponses';

const BatchIdPath = z.object({
  batch_id: z
    .string()
    .meta({ description: 'A batch id (`batch_<24 hex>`), as `POST /batches` or `POST /v1/batches` answered.' }),
});
/** The NDJSON options as query parameters, the structured-output ones described. */
const NdjsonQuery = NdjsonBatchQuerySchema.extend({
  output_schema: NdjsonBatchQuerySchema.shape.output_schema.meta({
    description:
      'The `outputSchema` option as JSON text: a JSON Schema (draft 2020-12) every answer must follow; 400 when it ' +
      'does not compile.',
  }),
  repair_attempts: NdjsonBatchQuerySchema.shape.repair_attempts.meta({
    description: 'Repairs per invalid structured answer before an `invalid_output` dead letter (default 2).',
  }),
  wait: WaitParam,
});
const notFoundBatch = apiError('No such batch (or not yours).');
const batchEnded = apiError('The batch has ended and takes no more signals (`batch_ended`).');

export const PROJECT_ROUTES: RouteDoc[] = [
  // Probes and this document
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness',
    tags: ['health'],
    auth: false,
    responses: { '200': json(HealthSchema, 'The process is up.') },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: Temporal and PostgreSQL (when DATABASE_URL is set) are reachable',
    tags: ['health'],
    auth: false,
    responses: {
      '200': json(ReadinessSchema, 'Ready: `{ok: true, checks}`.'),
      '503': json(ReadinessSchema, 'Not ready: `{ok: false, checks, error: {message}}`.'),
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document (OpenAPI 3.1)',
    tags: ['health'],
    auth: false,
    responses: { '200': json(z.record(z.string(), z.unknown()), 'The OpenAPI document.') },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics of the API and of the batches Temporal holds',
    description:
      'Prometheus text format (docs/metrics.md lists the series). No API key, like the probes: it names no batch, ' +
      'key or prompt. Batch gauges are read from Temporal at most every few seconds.',
    tags: ['health'],
    auth: false,
    responses: {
      '200': {
        description: 'The metrics, in the Prometheus text exposition format 0.0.4.',
        content: { 'text/plain': { schema: z.string() } },
      },
    },
  },

  // Project API: batches
  {
    method: 'post',
    path: '/batches',
    operationId: 'createBatch',
    summary: 'Create a batch',
    description:
      'Two bodies. `application/json`: the requests and the options. `application/x-ndjson`: the requests alone, ' +
      'one per line, checked as they stream in, with the options as query parameters (which a JSON body ignores, ' +
      'but for `wait`: submit and wait). ' +
      'Lines without `body.model` get `model`, or LLMBATCH_DEFAULT_MODEL. Bad input gets 400 whose message names ' +
      'the request (or line) and the field (`requests.3.method: ...`), and nothing is created. ' +
      "`options.outputSchema` (or a line's own `response_format` / `text.format` json_schema) has each answer " +
      'validated and repaired up to `repairAttempts` times; a schema that does not compile is refused with 400 ' +
      '(`invalid_output_schema`).',
    tags: ['batches'],
    params: { query: NdjsonQuery, header: IdempotencyHeader },
    body: {
      required: true,
      description: '`application/x-ndjson`: one BatchLine per line (the schema is that of one line).',
      content: {
        'application/json': { schema: CreateBatchRequestSchema },
        'application/x-ndjson': { schema: BatchLineSchema },
      },
    },
    responses: {
      '201': json(CreatedBatchSchema, 'Created and started.'),
      '200': createdOrWaited,
      '202': waiting,
      '400': apiError('Invalid input (or `wait`): the message names the request and the field (or parameter).'),
      '409': apiError('A request with this Idempotency-Key is still being processed (`idempotency_key_in_use`).'),
      '422': apiError('This Idempotency-Key was already used with another request (`idempotency_key_reused`).'),
      '413': apiError("The body is larger than the tenant's upload quota (or 100 MB of JSON)."),
      '429': apiError("The tenant's quota of concurrent batches is used up."),
    },
  },
  {
    method: 'get',
    path: '/batches',
    operationId: 'listBatches',
    summary: "The caller's batches, newest first",
    description: 'Filtered by status and creation time; paged with `cursor` (the `next_cursor` of the page before).',
    tags: ['batches'],
    params: { query: ListBatchesQuerySchema },
    responses: { '200': json(BatchListSchema, 'A page of batches.'), '400': apiError('Invalid query.') },
  },
  {
    method: 'get',
    path: '/batches/{batch_id}',
    operationId: 'getBatch',
    summary: "A batch's progress",
    description: "An ended batch is answered from the store, so it stays readable after Temporal's retention.",
    tags: ['batches'],
    params: { path: BatchIdPath },
    responses: { '200': json(BatchViewSchema, 'Progress.'), '404': notFoundBatch },
  },
  {
    method: 'get',
    path: '/batches/{batch_id}/results',
    operationId: 'getBatchResults',
    summary: "A batch's results, one JSON line per custom_id",
    description:
      '`status=failed` gives the dead letters; `error_code` and `custom_id` (comma-separated) narrow them further.',
    tags: ['batches'],
    params: { path: BatchIdPath, query: ResultsQuerySchema },
    responses: {
      '200': {
        description: 'JSON Lines: one BatchOutputLine per line (the schema is that of one line).',
        content: { 'application/x-ndjson': { schema: BatchOutputLineSchema } },
      },
      '400': apiError('Invalid query.'),
      '404': notFoundBatch,
    },
  },
  ...(
    [
      [
        'cancel',
        'cancelBatch',
        'Cancel: stop scheduling, cancel in-flight chunks, keep finished results',
        'cancelling',
      ],
      ['pause', 'pauseBatch', 'Pause: provider calls stop within about 2 s; finished items are kept', 'paused'],
      ['resume', 'resumeBatch', 'Resume: re-run what is left', 'running'],
    ] as const
  ).map(([action, operationId, summary, status]): RouteDoc => ({
    method: 'post',
    path: `/batches/{batch_id}/${action}`,
    operationId,
    summary,
    tags: ['batches'],
    params: { path: BatchIdPath },
    responses: { '202': json(SignalAcceptedSchema(status), 'Signalled.'), '404': notFoundBatch, '409': batchEnded },
  })),
  {
    method: 'post',
    path: '/batches/{batch_id}/priority',
    operationId: 'setBatchPriority',
    summary: 'Priority of the chunks scheduled from now on: 1 (first) to 5 (last)',
    tags: ['batches'],
    params: { path: BatchIdPath },
    body: jsonBody(SetPriorityRequestSchema),
    responses: {
      '202': json(PriorityAcceptedSchema, 'Signalled.'),
      '400': apiError('Invalid priority.'),
      '404': notFoundBatch,
      '409': batchEnded,
    },
  },
  {
    method: 'post',
    path: '/batches/{batch_id}/concurrency',
    operationId: 'setBatchConcurrency',
    summary: 'Chunk activities in flight at once for this batch',
    tags: ['batches'],
    params: { path: BatchIdPath },
    body: jsonBody(SetConcurrencyRequestSchema),
    responses: {
      '202': json(ConcurrencyAcceptedSchema, 'Signalled.'),
      '400': apiError('Invalid value.'),
      '404': notFoundBatch,
      '409': batchEnded,
    },
  },
  {
    method: 'post',
    path: '/batches/{batch_id}/retry',
    operationId: 'retryBatch',
    summary: "Retry a batch's dead letters as a new batch, linked to it",
    description: "By default the new batch has the old one's priority; the body may set its priority and options.",
    tags: ['batches'],
    params: { path: BatchIdPath },
    body: { required: false, content: { 'application/json': { schema: RetryBatchRequestSchema } } },
    responses: {
      '201': json(RetriedBatchSchema, 'The new batch, started.'),
      '400': apiError('Invalid body.'),
      '404': notFoundBatch,
      '409': apiError('The batch has not ended (`batch_not_ended`), or has no dead letters (`no_dead_letters`).'),
      '429': apiError("The tenant's quota of concurrent batches is used up."),
    },
  },

  // Project API: lanes
  {
    method: 'get',
    path: '/lanes',
    operationId: 'listLanes',
    summary: 'The default queue and each lane of LLMBATCH_LANES, with the limit the server enforces',
    tags: ['lanes'],
    responses: { '200': json(LaneListSchema, 'Every queue.') },
  },
  {
    method: 'put',
    path: '/lanes/limits',
    operationId: 'setLaneLimit',
    summary: 'A new cross-worker limit for a lane, at once; rpm and tpm both null clear it',
    description: 'Needs an admin key: a lane is shared by every tenant.',
    tags: ['lanes'],
    body: jsonBody(SetLaneLimitRequestSchema, 'Without endpoint and model: the default queue.'),
    responses: {
      '200': json(LaneViewSchema, 'The lane, with its new limit.'),
      '400': apiError('Invalid limit.'),
      '403': apiError('Needs an admin key (`permission_denied`).'),
      '404': apiError('No lane for that endpoint and model (lanes come from LLMBATCH_LANES).'),
    },
  },
];
