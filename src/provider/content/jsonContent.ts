import type { Prng } from '../prng';
import { SENTIMENT_LABELS, type SentimentLabel } from './lexicon';
import { generatePhrase, generateProse } from './prose';

/**
 * JSON answers for `response_format` json_object / json_schema. For a schema
 * the value follows the declared types (enough for a demo's structured
 * output), not every JSON Schema keyword.
 */
export function generateJsonObject(rng: Prng, targetTokens: number, sentiment: SentimentLabel | undefined): string {
  if (sentiment !== undefined) return JSON.stringify({ sentiment });
  return JSON.stringify({
    answer: generateProse(rng, Math.max(1, targetTokens - 12)),
    confidence: Math.round(rng.next() * 100) / 100,
  });
}

export function generateFromSchema(rng: Prng, schema: unknown, sentiment: SentimentLabel | undefined): string {
  const value = valueFor(rng, schema, '', sentiment, 0);
  // The top level of a structured output is always an object.
  return JSON.stringify(value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { value });
}

type Schema = {
  type?: unknown;
  enum?: unknown;
  const?: unknown;
  properties?: unknown;
  items?: unknown;
  anyOf?: unknown;
};

function valueFor(
  rng: Prng,
  raw: unknown,
  name: string,
  sentiment: SentimentLabel | undefined,
  depth: number,
): unknown {
  const schema: Schema = raw !== null && typeof raw === 'object' ? raw : {};
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    if (sentiment !== undefined && schema.enum.includes(sentiment)) return sentiment;
    return rng.pick(schema.enum as unknown[]);
  }
  if (Array.isArray(schema.anyOf) && schema.anyOf.length > 0) {
    return valueFor(rng, schema.anyOf[0], name, sentiment, depth);
  }
  const type = Array.isArray(schema.type) ? (schema.type as unknown[]).find((t) => t !== 'null') : schema.type;
  const isObject = type === 'object' || (type === undefined && schema.properties !== undefined);
  if (isObject && depth < 6) {
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(properties)) {
      result[key] = valueFor(rng, child, key, sentiment, depth + 1);
    }
    return result;
  }
  switch (type) {
    case 'array':
      return depth < 6
        ? Array.from({ length: rng.int(1, 3) }, () => valueFor(rng, schema.items, name, sentiment, depth + 1))
        : [];
    case 'integer':
      return rng.int(0, 100);
    case 'number':
      return Math.round(rng.next() * 10_000) / 100;
    case 'boolean':
      return rng.next() < 0.5;
    case 'null':
      return null;
    default:
      if (/sentiment|label/i.test(name)) return sentiment ?? rng.pick(SENTIMENT_LABELS);
      return generatePhrase(rng, 2, 8);
  }
}
