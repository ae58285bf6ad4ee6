/** Validates a create-batch request; errors name the request index and field. */
import { CreateBatchRequestSchema, type CreateBatchRequest } from '../shared/contracts';
import { HttpError } from './httpError';

export function validateCreateBatch(body: unknown, defaultModel: string): CreateBatchRequest {
  const parsed = CreateBatchRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    throw new HttpError(400, `invalid batch: ${first ? `${first.path || 'body'}: ${first.message}` : 'bad request'}`, issues);
  }
  const request = parsed.data;
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
