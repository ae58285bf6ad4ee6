/**
 * The API's JSON Schema checks: a batch's `outputSchema` and each line's own schema must compile (ajv,
 * draft 2020-12) before anything is stored, so a batch never starts with answers no one can check.
 */
import type { BatchLine } from '../shared/contracts';
import { OutputValidator, requestedSchema, withOutputSchema, type JsonSchema } from '../shared/structuredOutput';

/** One per process: identical schemas (the usual case, one per line) compile once. */
export const outputSchemas = new OutputValidator();

/**
 * The line as it is stored: asking for the batch's `outputSchema` unless it asks for a schema of its own.
 * Returns why it cannot be checked, if it cannot: a line schema that does not compile, or an embeddings line
 * (no answer text) under an `outputSchema`.
 */
export function withCheckedSchema(line: BatchLine, outputSchema: JsonSchema | undefined): string | undefined {
  const own = requestedSchema(line.url, line.body);
  if (own) {
    const problem = outputSchemas.problem(own);
    const where = line.url === '/v1/responses' ? 'body.text.format.schema' : 'body.response_format.json_schema.schema';
    return problem && `${where}: not a valid JSON Schema (draft 2020-12): ${problem}`;
  }
  if (!outputSchema) return undefined;
  if (line.url === '/v1/embeddings') return 'options.outputSchema: embeddings have no answer to check against a schema';
  line.body = withOutputSchema(line.url, line.body, outputSchema);
  return undefined;
}
