/** An error with an HTTP status, mapped to a response by the API's error handler (and /v1's, in OpenAI's shape). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    /** A machine-readable code, e.g. `invalid_api_key`, `quota_exceeded`. */
    readonly code?: string,
  ) {
    super(message);
  }
}
