/**
 * Every route of the HTTP API, as one table: the OpenAPI document (document.ts) is generated from it.
 * Request schemas are the ones the handlers parse with (imported; two private ones are copied until they
 * are exported, see below), so the document follows them; response schemas are in responses.ts, checked against the TypeScript types at compile time.
 *
 * To document a route: add an entry to ROUTES (method, path with `{param}`s, operationId, summary, tags,
 * params, body, responses). document.ts adds, per entry, the security requirement and the 401 and 500
 * answers in the right error shape (the project's, or OpenAI's under /v1). test/api/openapi.test.ts fails
 * for a route in the source that ROUTES lacks, and for an entry that no route in the source serves
 * (unless it is listed in PLANNED_ROUTES).
 */
import { z } from 'zod';
import {
  createSchema,
  type ZodOpenApiParameters,
  type ZodOpenApiRequestBodyObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import {
  BatchLineSchema,
  CreateBatchRequestSchema,
  SetConcurrencyRequestSchema,
  SetLaneLimitRequestSchema,
  SetPriorityRequestSchema,
} from '../../shared/contracts';
import {
  ListBatchesQuerySchema,
  NdjsonBatchQuerySchema,
  ResultsQuerySchema,
  RetryBatchRequestSchema,
} from '../schemas';
import { CreateBatchSchema, ListV1BatchesQuerySchema, LlmbatchMetadataSchema } from '../v1/batchSchemas';
import { ListFilesQuerySchema } from '../v1/files';
import { BATCH_ID } from '../ids';
import { V1_LIMITS } from '../v1/limits';
import { PURPOSES, UploadFieldsSchema } from '../v1/upload';
import {
  ApiErrorSchema,
  BatchListSchema,
  BatchObjectSchema,
  BatchOutputLineSchema,
  BatchViewSchema,
  ConcurrencyAcceptedSchema,
  CreatedBatchSchema,
  FileDeletedSchema,
  FileObjectSchema,
  HealthSchema,
  LaneListSchema,
  LaneViewSchema,
  ListOf,
  OpenAIErrorSchema,
  PriorityAcceptedSchema,
  ReadinessSchema,
  RetriedBatchSchema,
  SignalAcceptedSchema,
} from './responses';

export type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';

export const TAGS = {
  health: 'Probes and this document.',
  batches:
    "llmbatch's own API: batches of requests in OpenAI's batch line format, with progress, results and controls.",
  lanes: 'Rate-limit lanes: the limit every worker holds for an (endpoint, model), changed at runtime.',
  files: 'OpenAI-compatible Files API (`/v1/files`): batch input files, and the output and error files of batches.',
  'openai-batches':
    "OpenAI-compatible Batch API (`/v1/batches`): code written for OpenAI's works by changing its baseURL.",
} as const;
export type Tag = keyof typeof TAGS;

export interface RouteDoc {
  method: Method;
  /** OpenAPI form: `/v1/batches/{batch_id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: Tag[];
  /** false: no API key needed (probes and this document). Default: `Authorization: Bearer <key>` required. */
  auth?: boolean;
  params?: ZodOpenApiParameters;
  body?: ZodOpenApiRequestBodyObject;
  /** Status → answer. 401 (routes with auth) and 500 are added by document.ts. */
  responses: Record<`${1 | 2 | 3 | 4 | 5}${string}`, ZodOpenApiResponseObject>;
}

/**
 * Routes documented ahead of their handlers, as `METHOD /path` (OpenAPI form). The coverage test accepts
 * these in the document without a route in the source, and fails once a route here does exist in the
 * source: then check its entry against the handler and take it off this list. Empty: strict both ways.
 */
export const PLANNED_ROUTES: readonly string[] = [];

// ---------------------------------------------------------------------------------------------------
// Building blocks

const json = (schema: z.ZodType, description: string): ZodOpenApiResponseObject => ({
  description,
  content: { 'application/json': { schema } },
});

/** A project API error (`{error: {message, code?, details?}}`). */
export const apiError = (description: string): ZodOpenApiResponseObject => json(ApiErrorSchema, description);

/** A /v1 error in OpenAI's shape; 4xx answers carry `x-should-retry: false` so that the official client does not retry them. */
export const openAIError = (description: string, status: number): ZodOpenApiResponseObject => ({
  ...json(OpenAIErrorSchema, description),
  ...(status < 500
    ? {
        headers: z.object({
          'x-should-retry': z.literal('false').meta({ description: 'Tells the official OpenAI client not to retry.' }),
        }),
      }
    : {}),
});

const jsonBody = (schema: z.ZodType, description?: string): ZodOpenApiRequestBodyObject => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
});

const BatchIdPath = z.object({
  batch_id: z
    .string()
    .meta({ description: 'A batch id (`batch_<24 hex>`), as `POST /batches` or `POST /v1/batches` answered.' }),
});
const V1BatchIdPath = z.object({ batch_id: z.string().regex(BATCH_ID).meta({ description: '`batch_<24 hex>`.' }) });
const FileIdPath = z.object({
  file_id: z
    .string()
    .meta({
      description:
        '`file-<24 hex>` (an upload), or `file-<batch id>_output` / `file-<batch id>_error` (the results of an ended batch).',
    }),
});

const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/)
    .optional()
    .meta({
      description:
        'Makes a retried create safe: a request repeating a key already used gets that batch back instead of a new one.',
    }),
});
const notFoundBatch = apiError('No such batch (or not yours).');
const batchEnded = apiError('The batch has ended and takes no more signals (`batch_ended`).');

// ---------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------
// /v1 request schemas as documented: the real ones, with what zod cannot render added as metadata.

/** The llmbatch_ metadata keys (LlmbatchMetadataSchema, as input), shown as properties of `metadata`. */
const llmbatchMetadataKeys = (
  createSchema(LlmbatchMetadataSchema, { io: 'input' }).schema as { properties?: Record<string, unknown> }
).properties;

const MetadataDocSchema = CreateBatchSchema.shape.metadata
  .unwrap()
  .unwrap()
  .meta({
    description: `Up to ${V1_LIMITS.metadataMaxKeys} string pairs, echoed back. llmbatch's options ride in \`llmbatch_\` keys; any other \`llmbatch_\` key is refused.`,
    maxProperties: V1_LIMITS.metadataMaxKeys,
    override: { properties: llmbatchMetadataKeys },
  });

export const V1CreateBatchDocSchema = CreateBatchSchema.extend({ metadata: MetadataDocSchema.nullish() }).meta({
  id: 'V1CreateBatchRequest',
});

const UploadDocSchema = UploadFieldsSchema.extend({
  file: z
    .string()
    .meta({
      contentMediaType: 'application/jsonl',
      description: 'The batch input: one OpenAI batch request line per line.',
    }),
  purpose: UploadFieldsSchema.shape.purpose.meta({ enum: [...PURPOSES] }),
});

// ---------------------------------------------------------------------------------------------------
// The routes

export const ROUTES: RouteDoc[] = [
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

  // Project API: batches
  {
    method: 'post',
    path: '/batches',
    operationId: 'createBatch',
    summary: 'Create a batch',
    description:
      'Two bodies. `application/json`: the requests and the options. `application/x-ndjson`: the requests alone, one per line, checked as they ' +
      'stream in, with the options as query parameters (which a JSON body ignores). Lines without `body.model` get `model`, or ' +
      'LLMBATCH_DEFAULT_MODEL. Bad input gets 400 whose message names the request (or line) and the field (`requests.3.method: ...`), ' +
      'and nothing is created.',
    tags: ['batches'],
    params: { query: NdjsonBatchQuerySchema, header: IdempotencyHeader },
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
      '200': json(
        CreatedBatchSchema,
        'A repeated Idempotency-Key: the batch the first request created, as it is now (header `Idempotent-Replayed: true`).',
      ),
      '400': apiError('Invalid input: the message names the request and the field.'),
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

  // /v1 files
  {
    method: 'post',
    path: '/v1/files',
    operationId: 'v1CreateFile',
    summary: 'Upload a batch input file',
    description:
      'The file is checked line by line as it streams in; a bad file gets 400 whose message names the line and whose `code` names the reason ' +
      '(`invalid_json_line`, `missing_custom_id`, `invalid_custom_id`, `duplicate_custom_id`, `invalid_method`, `unsupported_url`, `invalid_body`, ' +
      '`line_too_long`, `invalid_utf8`, `too_many_requests`, `empty_file`), and nothing is stored.',
    tags: ['files'],
    body: { required: true, content: { 'multipart/form-data': { schema: UploadDocSchema } } },
    responses: {
      '200': json(FileObjectSchema, 'Stored.'),
      '400': openAIError('Invalid file or form.', 400),
      '413': openAIError("The file is larger than 200 MB or the tenant's upload quota.", 413),
    },
  },
  {
    method: 'get',
    path: '/v1/files',
    operationId: 'v1ListFiles',
    summary: 'Uploaded files, newest first',
    tags: ['files'],
    params: { query: ListFilesQuerySchema },
    responses: { '200': json(ListOf(FileObjectSchema), 'A page of files.'), '400': openAIError('Invalid query.', 400) },
  },
  {
    method: 'get',
    path: '/v1/files/{file_id}',
    operationId: 'v1RetrieveFile',
    summary: 'A file object',
    tags: ['files'],
    params: { path: FileIdPath },
    responses: { '200': json(FileObjectSchema, 'The file.'), '404': openAIError('No such file.', 404) },
  },
  {
    method: 'get',
    path: '/v1/files/{file_id}/content',
    operationId: 'v1DownloadFile',
    summary: "A file's bytes",
    tags: ['files'],
    params: { path: FileIdPath },
    responses: {
      '200': {
        description: 'The bytes (JSON Lines).',
        content: { 'application/octet-stream': { schema: z.string().meta({ contentMediaType: 'application/jsonl' }) } },
      },
      '404': openAIError('No such file.', 404),
    },
  },
  {
    method: 'delete',
    path: '/v1/files/{file_id}',
    operationId: 'v1DeleteFile',
    summary: 'Delete an uploaded file (batches made from it keep their own copy)',
    tags: ['files'],
    params: { path: FileIdPath },
    responses: {
      '200': json(FileDeletedSchema, 'Deleted.'),
      '400': openAIError('The output or error file of a batch: kept with it.', 400),
      '404': openAIError('No such file.', 404),
    },
  },

  // /v1 batches
  {
    method: 'post',
    path: '/v1/batches',
    operationId: 'v1CreateBatch',
    summary: 'Create and start a batch from an uploaded file',
    description:
      "Every line's `url` must be `endpoint` (else 400 naming the line). Lines without `body.model` get LLMBATCH_DEFAULT_MODEL.",
    tags: ['openai-batches'],
    params: { header: IdempotencyHeader },
    body: jsonBody(V1CreateBatchDocSchema),
    responses: {
      '200': json(
        BatchObjectSchema,
        'Started (`in_progress`); for a repeated Idempotency-Key, the batch the first request created.',
      ),
      '409': openAIError('A request with this Idempotency-Key is still being processed.', 409),
      '422': openAIError('This Idempotency-Key was already used with another request.', 422),
      '400': openAIError('Invalid request or input file.', 400),
      '404': openAIError('No such input file.', 404),
      '413': openAIError('The body is too large.', 413),
      '429': openAIError("The tenant's quota of concurrent batches is used up (`quota_exceeded`).", 429),
    },
  },
  {
    method: 'get',
    path: '/v1/batches',
    operationId: 'v1ListBatches',
    summary: 'Batches, newest first',
    tags: ['openai-batches'],
    params: { query: ListV1BatchesQuerySchema },
    responses: {
      '200': json(ListOf(BatchObjectSchema), 'A page of batches.'),
      '400': openAIError('Invalid query.', 400),
    },
  },
  {
    method: 'get',
    path: '/v1/batches/{batch_id}',
    operationId: 'v1RetrieveBatch',
    summary: "OpenAI's Batch object",
    tags: ['openai-batches'],
    params: { path: V1BatchIdPath },
    responses: { '200': json(BatchObjectSchema, 'The batch.'), '404': openAIError('No such batch.', 404) },
  },
  {
    method: 'post',
    path: '/v1/batches/{batch_id}/cancel',
    operationId: 'v1CancelBatch',
    summary: 'Cancel: answers `cancelling`; the batch ends `cancelled` and keeps what finished',
    tags: ['openai-batches'],
    params: { path: V1BatchIdPath },
    responses: {
      '200': json(BatchObjectSchema, 'Cancelling.'),
      '404': openAIError('No such batch.', 404),
      '409': openAIError('The batch has ended (`batch_not_cancellable`).', 409),
    },
  },
];
