import { z } from 'zod';
import { invalidRequest } from '../openaiErrors';
import { paramName } from '../endpoints/validation';

/** Parse `req.query` with a schema; a bad value is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue ? paramName(issue.path) : null;
  throw invalidRequest(
    `Invalid query parameter '${param ?? '?'}': ${issue?.message ?? 'invalid'}`,
    param,
    'invalid_value',
  );
}

/** `limit=` as an integer within bounds. */
export const limitParam = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** One page of an OpenAI list: `data` with the ids that bound it, so a client pages on with `after=last_id`. */
export function listPage<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}
