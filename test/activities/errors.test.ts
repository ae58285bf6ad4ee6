import { APIConnectionError, APIError } from 'openai';
import { classifyError, retryAfterMs } from '../../src/activities/errors';

const apiError = (status: number, headers: Record<string, string> = {}, code?: string) =>
  APIError.generate(status, { error: { message: `status ${status}`, code } }, `status ${status}`, new Headers(headers));

describe('classifyError', () => {
  it.each([400, 404, 422])('%i is permanent', (status) =>
    expect(classifyError(apiError(status)).kind).toBe('permanent'),
  );
  it.each([401, 403])('%i is an auth failure', (status) => expect(classifyError(apiError(status)).kind).toBe('auth'));
  it.each([408, 409, 429, 500, 502, 503, 504])('%i is transient', (status) =>
    expect(classifyError(apiError(status)).kind).toBe('transient'),
  );
  it("a permanent error keeps the provider's code, else not_found (404) or invalid_request", () => {
    expect(classifyError(apiError(400, {}, 'invalid_value'))).toMatchObject({ code: 'invalid_value' });
    expect(classifyError(apiError(404))).toMatchObject({ kind: 'permanent', code: 'not_found' });
    expect(classifyError(apiError(422))).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
  });
  it('a content filter refusal is permanent', () =>
    expect(classifyError(apiError(409, {}, 'content_filter')).kind).toBe('permanent'));
  it('connection failures and malformed bodies are transient', () => {
    expect(classifyError(new APIConnectionError({ message: 'reset' })).kind).toBe('transient');
    expect(classifyError(new SyntaxError('Unexpected end of JSON input')).kind).toBe('transient');
  });
  it('carries Retry-After from a 429', () => {
    expect(classifyError(apiError(429, { 'retry-after': '2' }))).toMatchObject({
      kind: 'transient',
      status: 429,
      retryAfterMs: 2000,
    });
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then seconds, then an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' }))).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
