/**
 * Every provider error is classified here, once.
 *  permanent: the request itself is wrong (400, 404, 422, content filter); recorded, never retried
 *  auth:      our credentials are wrong (401, 403); the batch fails fast
 *  transient: worth retrying (429, 408, 409, 5xx, timeouts, resets, malformed bodies)
 * The names they end up under (failure types, result-line codes) are cataloged in src/shared/failures.ts.
 */
import { APIConnectionError, APIError } from 'openai';
import { ItemErrorCode } from '../shared/failures';

export type ErrorClass =
  | { kind: 'permanent'; status: number; code: string; message: string }
  | { kind: 'auth'; status: number; message: string }
  | { kind: 'transient'; status?: number; message: string; retryAfterMs?: number; headers?: Headers };

const PERMANENT = new Set([400, 404, 413, 422]);
const AUTH = new Set([401, 403]);

/** Parses Retry-After (seconds or HTTP date) and retry-after-ms into milliseconds. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

type ProviderError = APIError<number | undefined, Headers | undefined>;

function errorCode(err: ProviderError): string {
  if (typeof err.code === 'string' && err.code) return err.code;
  if (err.status === 404) return ItemErrorCode.NotFound;
  return ItemErrorCode.InvalidRequest;
}

/** The HTTP status a provider call's error carries; undefined when no answer came (connection, timeout, bad body). */
export function providerStatus(err: unknown): number | undefined {
  return err instanceof APIError ? (err as ProviderError).status : undefined;
}

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof APIConnectionError) return { kind: 'transient', message: err.message };
  if (err instanceof APIError) {
    const apiErr = err as ProviderError;
    const status = apiErr.status;
    if (status === undefined) return { kind: 'transient', message: apiErr.message };
    if (AUTH.has(status)) return { kind: 'auth', status, message: apiErr.message };
    if (PERMANENT.has(status) || apiErr.code === 'content_filter') {
      return { kind: 'permanent', status, code: errorCode(apiErr), message: apiErr.message };
    }
    return {
      kind: 'transient',
      status,
      message: apiErr.message,
      retryAfterMs: retryAfterMs(apiErr.headers),
      headers: apiErr.headers,
    };
  }
  // A 200 whose body is not JSON surfaces as a SyntaxError: the provider misbehaved, try again.
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'transient', message };
}
