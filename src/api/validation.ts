/** Request validation with zod; every 400 names the field (and for batches, the request index). */
import type { z } from 'zod';
import { CreateBatchRequestSchema, type CreateBatchRequest } from '../shared/contracts';
import { HttpError } from './httpError';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  // An unknown key is named by the key itself (its issue's path is the object holding it).
  const issues = parsed.error.issues.map((i) => ({
    path: [...i.path, ...(i.code === 'unrecognized_keys' ? i.keys.slice(0, 1) : [])].join('.'),
    message: i.message,
  }));
  const first = issues[0];
  throw new HttpError(
    400,
    `invalid ${what}: ${first ? `${first.path || 'body'}: ${first.message}` : 'bad request'}`,
    issues,
    'invalid_request',
  );
}

/** The JSON body of POST /batches; the model and quota checks come later, as lines are stored (createBatch.ts). */
export function validateCreateBatch(body: unknown): CreateBatchRequest {
  const request = parseBody(CreateBatchRequestSchema, body, 'batch');
  const seen = new Map<string, number>();
  request.requests.forEach((line, index) => {
    const earlier = seen.get(line.custom_id);
    if (earlier !== undefined) {
      throw new HttpError(
        400,
        `invalid batch: requests.${index}.custom_id: duplicate of requests.${earlier} (${line.custom_id})`,
      );
    }
    seen.set(line.custom_id, index);
  });
  return request;
}

/** Printable ASCII, 1 to 255 characters: what an Idempotency-Key may be. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key` header, if it has one; a 400 naming the header when it is malformed. */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(header))
    throw new HttpError(
      400,
      'invalid Idempotency-Key header: expected 1 to 255 printable ASCII characters',
      undefined,
      'invalid_idempotency_key',
    );
  return header;
}
