/** Request validation with zod; every 400 names the field (and for batches, the request index). */
import type { z } from 'zod';
import { CreateBatchRequestSchema, type CreateBatchRequest } from '../shared/contracts';
import { HttpError } from './httpError';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new HttpError(400, `invalid ${what}: ${first ? `${first.path || 'body'}: ${first.message}` : 'bad request'}`, issues);
}

export function validateCreateBatch(body: unknown, defaultModel: string): CreateBatchRequest {
  const request = parseBody(CreateBatchRequestSchema, body, 'batch');
  const seen = new Map<string, number>();
  request.requests.forEach((line, index) => {
    const earlier = seen.get(line.custom_id);
    if (earlier !== undefined) {
      throw new HttpError(400, `invalid batch: requests.${index}.custom_id: duplicate of requests.${earlier} (${line.custom_id})`);
    }
    seen.set(line.custom_id, index);
    if (typeof line.body.model !== 'string' || line.body.model === '') line.body.model = request.model ?? defaultModel;
  });
  return request;
}
