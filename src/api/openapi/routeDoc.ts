/**
 * The form of one entry of the route table (routes.ts), and the building blocks the entries are made of:
 * JSON answers, the two APIs' error answers, JSON bodies and the Idempotency-Key header.
 */
import { z } from 'zod';
import type { ZodOpenApiParameters, ZodOpenApiRequestBodyObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { ApiErrorSchema } from './responses';
import { OpenAIErrorSchema } from './v1Responses';

export type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';

export const TAGS = {
  health: 'Probes, metrics and this document.',
  batches:
    "llmbatch's own API: batches of requests in OpenAI's batch line format, with progress, results and controls.",
  schedules: 'Recurring batches on Temporal Schedules: each run an ordinary batch made from a stored file.',
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
  /** false: no API key needed (probes, metrics and this document). Default: `Authorization: Bearer <key>` required. */
  auth?: boolean;
  params?: ZodOpenApiParameters;
  body?: ZodOpenApiRequestBodyObject;
  /** Status → answer. 401 (routes with auth) and 500 are added by document.ts. */
  responses: Record<`${1 | 2 | 3 | 4 | 5}${string}`, ZodOpenApiResponseObject>;
}

export const json = (schema: z.ZodType, description: string): ZodOpenApiResponseObject => ({
  description,
  content: { 'application/json': { schema } },
});

/** A project API error (`{error: {message, code?, details?}}`). */
export const apiError = (description: string): ZodOpenApiResponseObject => json(ApiErrorSchema, description);

/** A /v1 error in OpenAI's shape; a 4xx carries `x-should-retry: false`, so the official client does not retry it. */
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

export const jsonBody = (schema: z.ZodType, description?: string): ZodOpenApiRequestBodyObject => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
});

/** The Idempotency-Key header both create routes take. */
export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/)
    .optional()
    .meta({
      description:
        'Makes a retried create safe: a request repeating a key already used gets that batch back ' +
        'instead of a new one.',
    }),
});
