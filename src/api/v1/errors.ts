/** Errors under /v1 in OpenAI's shape: `{error: {message, type, param, code}}`. */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ErrorRequestHandler } from 'express';
import multer from 'multer';
import type { z } from 'zod';
import { HttpError } from '../httpError';

export class V1Error extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: string = status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): V1Error =>
  new V1Error(400, message, param, code);
export const notFound = (message: string, param: string | null = 'id'): V1Error =>
  new V1Error(404, message, param, null);

/** A zod failure as a 400 naming the first offending field (`metadata.llmbatch_priority`). */
export function fromZod(error: z.ZodError, prefix?: string): V1Error {
  const issue = error.issues[0];
  // An unknown key is named by the key itself.
  const unknown = issue?.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
  const path = [prefix, ...(issue?.path ?? []).map(String), ...unknown]
    .filter((p) => p !== undefined && p !== '')
    .join('.');
  const param = path === '' ? null : path;
  return invalidRequest(
    `Invalid ${param === null ? 'request' : `'${param}'`}: ${issue?.message ?? 'invalid value'}`,
    param,
    issue?.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value',
  );
}

export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZod(parsed.error, prefix);
  return parsed.data;
}

function toV1Error(err: unknown): V1Error {
  if (err instanceof V1Error) return err;
  if (err instanceof WorkflowNotFoundError) return notFound('No batch found.', 'batch_id');
  if (err instanceof HttpError) return new V1Error(err.status, err.message, null, err.code ?? null);
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE')
      return new V1Error(413, `File is too large: ${err.message}.`, 'file', 'file_too_large');
    return invalidRequest(
      `Invalid upload: ${err.message}${err.field ? ` (field '${err.field}')` : ''}.`,
      err.field ?? null,
      'invalid_upload',
    );
  }
  // body-parser (the app's JSON parser runs before this router) and busboy report their own errors.
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  if (e.type === 'entity.parse.failed')
    return invalidRequest('We could not parse the JSON body of your request.', null, 'invalid_json');
  if (e.type === 'entity.too.large') return new V1Error(413, 'Request body too large.', null, 'request_too_large');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return new V1Error(e.status, typeof e.message === 'string' ? e.message : 'Bad request.');
  if (e.message === 'Unexpected end of form' || e.message === 'Malformed part header')
    return invalidRequest(`Invalid multipart body: ${e.message}.`, null, 'invalid_upload');
  return new V1Error(500, 'The server had an error while processing your request.');
}

/**
 * The /v1 error handler: OpenAI's shape, and `x-should-retry: false` so that the official client does
 * not retry a 4xx.
 */
export const v1ErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const e = toV1Error(err);
  if (e.status >= 500) req.log.error({ err }, 'internal error');
  if (e.status < 500) res.set('x-should-retry', 'false');
  res.status(e.status).json({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
};
