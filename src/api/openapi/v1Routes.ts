/**
 * The route table's entries for the OpenAI-compatible API (`/v1/files`, `/v1/batches`). Request schemas are
 * the handlers' own, with what zod cannot render (the llmbatch_ metadata keys, the multipart file) added.
 */
import { z } from 'zod';
import { createSchema } from 'zod-openapi';
import { BATCH_ID } from '../ids';
import { CreateBatchSchema, ListV1BatchesQuerySchema, LlmbatchMetadataSchema } from '../v1/batchSchemas';
import { ListFilesQuerySchema } from '../v1/files';
import { V1_LIMITS } from '../v1/limits';
import { PURPOSES, UploadFieldsSchema } from '../v1/upload';
import { IdempotencyHeader, json, jsonBody, openAIError, type RouteDoc } from './routeDoc';
import { BatchObjectSchema, FileDeletedSchema, FileObjectSchema, ListOf } from './v1Responses';

const V1BatchIdPath = z.object({ batch_id: z.string().regex(BATCH_ID).meta({ description: '`batch_<24 hex>`.' }) });
const FileIdPath = z.object({
  file_id: z.string().meta({
    description:
      '`file-<24 hex>` (an upload), or `file-<batch id>_output` / `file-<batch id>_error` ' +
      '(the results of an ended batch).',
  }),
});

/** The llmbatch_ metadata keys (LlmbatchMetadataSchema, as input), shown as properties of `metadata`. */
const llmbatchMetadataKeys = (
  createSchema(LlmbatchMetadataSchema, { io: 'input' }).schema as { properties?: Record<string, unknown> }
).properties;

const MetadataDocSchema = CreateBatchSchema.shape.metadata
  .unwrap()
  .unwrap()
  .meta({
    description:
      `Up to ${V1_LIMITS.metadataMaxKeys} string pairs, echoed back. llmbatch's options ride in \`llmbatch_\` keys; ` +
      'any other `llmbatch_` key is refused.',
    maxProperties: V1_LIMITS.metadataMaxKeys,
    override: { properties: llmbatchMetadataKeys },
  });

export const V1CreateBatchDocSchema = CreateBatchSchema.extend({ metadata: MetadataDocSchema.nullish() }).meta({
  id: 'V1CreateBatchRequest',
});

const UploadDocSchema = UploadFieldsSchema.extend({
  file: z.string().meta({
    contentMediaType: 'application/jsonl',
    description: 'The batch input: one OpenAI batch request line per line.',
  }),
  purpose: UploadFieldsSchema.shape.purpose.meta({ enum: [...PURPOSES] }),
});

export const V1_ROUTES: RouteDoc[] = [
  // /v1 files
  {
    method: 'post',
    path: '/v1/files',
    operationId: 'v1CreateFile',
    summary: 'Upload a batch input file',
    description:
      'The file is checked line by line as it streams in; a bad file gets 400 whose message names the line and ' +
      'whose `code` names the reason (`invalid_json_line`, `missing_custom_id`, `invalid_custom_id`, ' +
      '`duplicate_custom_id`, `invalid_method`, `unsupported_url`, `invalid_body`, `line_too_long`, ' +
      '`invalid_utf8`, `too_many_requests`, `empty_file`), and nothing is stored.',
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
      "Every line's `url` must be `endpoint` (else 400 naming the line). Lines without `body.model` get " +
      'LLMBATCH_DEFAULT_MODEL.',
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
