import type { z } from 'zod';
import { invalidRequest, type ApiError } from '../openaiErrors';

/** Renders a zod path the way OpenAI names params: `messages[0].role`. */
export function paramName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const part of path) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += name === '' ? String(part) : `.${String(part)}`;
  }
  return name;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * Turns the first zod issue into an OpenAI-style 400, with the same `param`
 * and `code` vocabulary the real API uses (missing_required_parameter,
 * invalid_type, empty_array, invalid_value).
 */
export function zodToApiError(error: z.ZodError, input: unknown): ApiError {
  const issue = error.issues[0];
  if (issue === undefined) return invalidRequest('Invalid request body.');
  const param = paramName(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined && issue.path.length > 0) {
    return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  switch (issue.code) {
    case 'invalid_type':
      return invalidRequest(
        `Invalid type for '${param}': expected ${issue.expected}, but got ${describe(value)} instead.`,
        param,
        'invalid_type',
      );
    case 'too_small':
      if (Array.isArray(value) && value.length === 0) {
        return invalidRequest(
          `Invalid '${param}': empty array. Expected an array with minimum length ${String(issue.minimum)}, but ` +
            'got an empty array instead.',
          param,
          'empty_array',
        );
      }
      break;
    case 'invalid_value':
      return invalidRequest(
        `Invalid value: ${JSON.stringify(value)}. Supported values are: ` +
          `${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`,
        param,
        'invalid_value',
      );
    default:
      break;
  }
  return invalidRequest(`Invalid '${param || 'body'}': ${issue.message}`, param || null, 'invalid_value');
}

/** Parse or throw the OpenAI-shaped 400. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('Invalid request body: expected a JSON object.', null, 'invalid_type');
  }
  const result = schema.safeParse(body);
  if (!result.success) throw zodToApiError(result.error, body);
  return result.data;
}
