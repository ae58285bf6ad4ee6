/**
 * Structured outputs: the JSON Schema a request asks its answer to follow, the answer's text, and its
 * validation with ajv (draft 2020-12). The API compiles each schema once at submit time (a schema that does
 * not compile is refused there); the chunk activity validates every answer and builds the repair requests.
 * Pure: no I/O, so both sides share one definition of "the schema" and "the answer".
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export type JsonSchema = Record<string, unknown>;
type Body = Record<string, unknown>;

/** One reason an answer is invalid: where (a JSON pointer into the answer; '' is the whole) and what. */
export interface OutputError {
  pointer: string;
  message: string;
}

export type OutputVerdict = { valid: true; value: unknown } | { valid: false; errors: OutputError[] };

/** Repairs per answer when the batch does not say (`options.repairAttempts`). */
export const DEFAULT_REPAIR_ATTEMPTS = 2;
/** Errors listed in a repair request and a dead letter: enough to act on, bounded in size. */
const MAX_LISTED_ERRORS = 10;
/** Compiled validators kept per process: batches reuse a handful of schemas; a bound keeps a stream of them cheap. */
const MAX_CACHED_SCHEMAS = 500;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema a request asks for: chat's `response_format` or responses' `text.format` of type json_schema. */
export function requestedSchema(url: string, body: Body): JsonSchema | undefined {
  if (url === '/v1/chat/completions') {
    const format = body.response_format;
    if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.json_schema)) return undefined;
    return isObject(format.json_schema.schema) ? format.json_schema.schema : undefined;
  }
  if (url === '/v1/responses') {
    const format = isObject(body.text) ? body.text.format : undefined;
    if (!isObject(format) || format.type !== 'json_schema') return undefined;
    return isObject(format.schema) ? format.schema : undefined;
  }
  return undefined;
}

/**
 * The body asking for `schema` (a batch's `outputSchema`): the provider is asked for it as well as the answer
 * checked against it. A line asking for a schema of its own keeps it; embeddings have no answer to shape.
 */
export function withOutputSchema(url: string, body: Body, schema: JsonSchema): Body {
  if (requestedSchema(url, body) !== undefined) return body;
  if (url === '/v1/chat/completions')
    return { ...body, response_format: { type: 'json_schema', json_schema: { name: 'output', schema } } };
  if (url === '/v1/responses') {
    const text = isObject(body.text) ? body.text : {};
    return { ...body, text: { ...text, format: { type: 'json_schema', name: 'output', schema } } };
  }
  return body;
}

/** The answer's text: chat's first choice, or the responses API's output text; undefined when there is none. */
export function answerText(url: string, body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  if (url === '/v1/chat/completions') {
    const choice = Array.isArray(body.choices) ? (body.choices[0] as unknown) : undefined;
    const message = isObject(choice) ? choice.message : undefined;
    return isObject(message) && typeof message.content === 'string' ? message.content : undefined;
  }
  if (url === '/v1/responses') {
    if (typeof body.output_text === 'string') return body.output_text;
    const parts = (Array.isArray(body.output) ? body.output : []).flatMap((item: unknown) =>
      isObject(item) && Array.isArray(item.content) ? (item.content as unknown[]) : [],
    );
    const texts = parts.flatMap((p) => (isObject(p) && p.type === 'output_text' ? [String(p.text)] : []));
    return texts.length > 0 ? texts.join('') : undefined;
  }
  return undefined;
}

const toOutputError = (e: ErrorObject): OutputError => ({
  pointer: e.instancePath,
  message:
    e.keyword === 'additionalProperties' ? `${e.message}: ${String(e.params.additionalProperty)}` : `${e.message}`,
});

/** Compiles and caches schemas; validates answer texts against them. One per process (compiling is the cost). */
export class OutputValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    // strict off: providers' schemas carry annotations ajv's strict mode refuses; the meta-schema still applies.
    this.ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(this.ajv);
  }

  /** Why the schema does not compile, or undefined when it does. */
  problem(schema: JsonSchema): string | undefined {
    try {
      this.compile(schema);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** The answer text parsed and checked: its value, or why it is not valid JSON or not valid against the schema. */
  check(schema: JsonSchema, text: string | undefined): OutputVerdict {
    if (text === undefined) return { valid: false, errors: [{ pointer: '', message: 'the answer has no text' }] };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { valid: false, errors: [{ pointer: '', message: `not valid JSON: ${(err as Error).message}` }] };
    }
    const validate = this.compile(schema);
    if (validate(value)) return { valid: true, value };
    return { valid: false, errors: (validate.errors ?? []).slice(0, MAX_LISTED_ERRORS).map(toOutputError) };
  }

  private compile(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (validate) return validate;
    // ajv keeps every schema it compiled (by $id too): a fresh instance past the bound frees them all.
    if (this.compiled.size >= MAX_CACHED_SCHEMAS) {
      this.compiled.clear();
      this.ajv.removeSchema();
    }
    validate = this.ajv.compile(schema);
    this.compiled.set(key, validate);
    return validate;
  }
}

/** The errors as one line of text: a dead letter's message and what a repair request tells the model. */
export function describeErrors(errors: readonly OutputError[]): string {
  return errors.map((e) => `${e.pointer || '(root)'}: ${e.message}`).join('; ');
}

/**
 * The repair request: the same request with the invalid answer and what was wrong with it appended, asking
 * for the answer again (chat: two more messages; responses: the input as messages, plus the same two).
 */
export function repairBody(url: string, body: Body, invalid: string, errors: readonly OutputError[]): Body {
  const ask =
    `Your previous answer is not valid against the required JSON Schema: ${describeErrors(errors)}. ` +
    'Answer again with only the JSON that follows the schema.';
  const turns = [
    { role: 'assistant', content: invalid },
    { role: 'user', content: ask },
  ];
  if (url === '/v1/responses') {
    const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
    return { ...body, input: [...(Array.isArray(input) ? (input as unknown[]) : []), ...turns] };
  }
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  return { ...body, messages: [...messages, ...turns] };
}
