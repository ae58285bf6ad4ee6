import { canonicalJson } from '../canonical';
import type { Prng } from '../prng';
import type { SentimentLabel } from './lexicon';
import { generateProse } from './prose';
import { effectiveNode, generatedType, isPlainObject, type SchemaNode } from './schemaResolve';
import { numberFor, stringFor } from './schemaValues';

/**
 * JSON answers for `response_format` json_object / json_schema. For a schema
 * the value follows the keywords a structured-output schema ordinarily uses
 * (README: "Structured answers"), so a validator accepts it; `pattern`,
 * `multipleOf` and the like are not honoured.
 */
export function generateJsonObject(rng: Prng, targetTokens: number, sentiment: SentimentLabel | undefined): string {
  if (sentiment !== undefined) return JSON.stringify({ sentiment });
  return JSON.stringify({
    answer: generateProse(rng, Math.max(1, targetTokens - 12)),
    confidence: Math.round(rng.next() * 100) / 100,
  });
}

export function generateFromSchema(rng: Prng, schema: unknown, sentiment: SentimentLabel | undefined): string {
  const value = new SchemaValueGenerator(rng, schema, sentiment).valueFor(schema, '', 0);
  // The top level of a structured output is always an object.
  return JSON.stringify(isPlainObject(value) ? value : { value });
}

/** Below this depth optional properties and extra array items are generated; past it only what is required. */
const RICH_DEPTH = 6;
/** A recursive schema that requires itself has no finite instance; stop here with whatever is left. */
const MAX_DEPTH = 16;
/** Tries to find an item not already in a `uniqueItems` array. */
const UNIQUE_TRIES = 5;

class SchemaValueGenerator {
  constructor(
    private readonly rng: Prng,
    private readonly root: unknown,
    private readonly sentiment: SentimentLabel | undefined,
  ) {}

  valueFor(raw: unknown, name: string, depth: number): unknown {
    const node = effectiveNode(raw, this.root);
    if (node.const !== undefined) return node.const;
    if (Array.isArray(node.enum) && node.enum.length > 0) {
      // A sentiment prompt gets the lexicon's label wherever the enum allows it (a "sentiment"/"label" field).
      if (this.sentiment !== undefined && node.enum.includes(this.sentiment)) return this.sentiment;
      return this.rng.pick(node.enum as unknown[]);
    }
    switch (generatedType(node)) {
      case 'object':
        return this.objectFor(node, depth);
      case 'array':
        return this.arrayFor(node, name, depth);
      case 'integer':
        return numberFor(this.rng, node, true);
      case 'number':
        return numberFor(this.rng, node, false);
      case 'boolean':
        return this.rng.next() < 0.5;
      case 'null':
        return null;
      default:
        return stringFor(this.rng, node, name, this.sentiment);
    }
  }

  private objectFor(node: SchemaNode, depth: number): Record<string, unknown> {
    const properties = isPlainObject(node.properties) ? node.properties : {};
    const required = Array.isArray(node.required)
      ? node.required.filter((r): r is string => typeof r === 'string')
      : [];
    const result: Record<string, unknown> = {};
    if (depth >= MAX_DEPTH) return result;
    // Every declared property, like a strict structured output; deep in a recursive schema only the required ones.
    const names = depth < RICH_DEPTH ? [...Object.keys(properties), ...required] : required;
    for (const key of names) {
      if (key in result) continue;
      // A required name that is not declared takes any value, unless extra properties are forbidden.
      if (!(key in properties) && node.additionalProperties === false) continue;
      result[key] = this.valueFor(properties[key] ?? {}, key, depth + 1);
    }
    return result;
  }

  private arrayFor(node: SchemaNode, name: string, depth: number): unknown[] {
    const prefix: unknown[] = Array.isArray(node.prefixItems) ? node.prefixItems : [];
    const minItems = typeof node.minItems === 'number' ? node.minItems : 0;
    let maxItems = typeof node.maxItems === 'number' ? node.maxItems : Number.POSITIVE_INFINITY;
    if (node.items === false) maxItems = Math.min(maxItems, prefix.length);
    const wanted = depth < RICH_DEPTH ? this.rng.int(1, 3) : 0;
    const count = depth >= MAX_DEPTH ? 0 : Math.min(Math.max(wanted, minItems), maxItems);
    const items: unknown[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const itemSchema: unknown = i < prefix.length ? prefix[i] : node.items;
      let item = this.valueFor(itemSchema ?? {}, name, depth + 1);
      for (let tries = 1; node.uniqueItems === true && seen.has(canonicalJson(item)) && tries < UNIQUE_TRIES; tries++) {
        item = this.valueFor(itemSchema ?? {}, name, depth + 1);
      }
      if (node.uniqueItems === true && seen.has(canonicalJson(item))) continue;
      seen.add(canonicalJson(item));
      items.push(item);
    }
    return items;
  }
}
