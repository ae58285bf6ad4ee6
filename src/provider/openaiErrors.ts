import type { ErrorRequestHandler, Response } from 'express';

/** OpenAI's error body: `{error: {message, type, param, code}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error that should reach the client as an OpenAI-shaped JSON error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', param, code);

export const notFound = (message: string, param: string | null = 'id'): ApiError =>
  new ApiError(404, message, 'invalid_request_error', param, null);

export function sendApiError(res: Response, error: ApiError): void {
  res.status(error.status).json(error.toBody());
}

/** Body-parser and multer report problems with their own error classes; map them onto OpenAI's shape. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: unknown; code?: unknown; status?: unknown; message?: unknown };
  if (e.type === 'entity.parse.failed') {
    return invalidRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
        'library correctly. The OpenAI API expects a JSON payload.)',
    );
  }
  if (e.type === 'entity.too.large') {
    return new ApiError(413, 'Request body too large.', 'invalid_request_error', null, 'request_too_large');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return invalidRequest(typeof e.message === 'string' ? e.message : 'Bad request.');
  }
  return new ApiError(500, 'The simulator had an internal error.', 'server_error');
}

export const errorMiddleware: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const apiError = toApiError(err);
  if (apiError.status >= 500) console.error('[provider] internal error', err);
  sendApiError(res, apiError);
};
