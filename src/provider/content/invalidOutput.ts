import { createHash } from 'node:crypto';
import { Prng } from '../prng';
import type { CountableMessage } from '../tokens';
import { allowedTypes, isPlainObject, jsonType, resolveNode } from './schemaResolve';

/** In any message of a conversation, makes every structured answer to it invalid, corrections included. */
export const INVALID_OUTPUT_MARKER = '[sim:invalid-output]';

/** How one json_schema request is answered; what /_sim/stats counts as `structured`. */
export interface StructuredVerdict {
  /** Deliberately invalid (not JSON, or JSON that breaks the schema). */
  invalid: boolean;
  /** The conversation holds an assistant turn: the client showed the model an earlier answer to fix. */
  correction: boolean;
}

/**
 * Decided from the request digest, not the fault PRNG: a native batch line and
 * a realtime call of the same body must agree, and a retry of the same body
 * must fail the same way (the engine's repair, not its retry, has to fix it).
 */
export function structuredVerdict(
  digest: Buffer,
  messages: readonly CountableMessage[],
  invalidOutputRate: number,
): StructuredVerdict {
  const correction = messages.some((m) => m.role === 'assistant');
  if (messages.some((m) => m.text.includes(INVALID_OUTPUT_MARKER))) return { invalid: true, correction };
  // A model shown its own errors fixes them: only a first ask can fail.
  if (correction || invalidOutputRate <= 0) return { invalid: false, correction };
  const draw = seededPrng(digest, 'invalid-output').next();
  return { invalid: draw < invalidOutputRate, correction };
}

export type InvalidKind = 'not-json' | 'schema';

/**
 * Spoils a valid answer: either text that is not JSON (the valid text cut in
 * the middle) or JSON that breaks the schema. Falls back to the cut when the
 * schema leaves nothing that a value could break for sure.
 */
export function invalidateAnswer(digest: Buffer, choiceIndex: number, schema: unknown, validText: string): string {
  const rng = seededPrng(digest, `invalid-kind:${choiceIndex}`);
  const kind: InvalidKind = rng.next() < 0.5 ? 'not-json' : 'schema';
  if (kind === 'schema') {
    const broken = breakSchema(rng, JSON.parse(validText) as unknown, schema);
    if (broken !== undefined) return JSON.stringify(broken);
  }
  // A proper prefix of a JSON object never parses: its closing brace is missing.
  const quarter = Math.floor(validText.length / 4);
  return validText.slice(0, Math.max(1, rng.int(quarter, validText.length - quarter - 1)));
}

/**
 * A copy of `value` that fails `schema` for sure. Only necessary conditions are
 * broken (required, type, enum, const), so no other keyword can rescue it.
 */
function breakSchema(rng: Prng, value: unknown, schema: unknown): Record<string, unknown> | undefined {
  const node = resolveNode(schema, schema);
  // With alternatives at the top, the broken value might satisfy another branch.
  if (!isPlainObject(value) || 'anyOf' in node || 'oneOf' in node) return undefined;
  const copy: Record<string, unknown> = { ...value };
  const required = (Array.isArray(node.required) ? node.required : []).filter(
    (name): name is string => typeof name === 'string' && name in copy,
  );
  if (required.length > 0) {
    delete copy[rng.pick(required)];
    return copy;
  }
  const properties = isPlainObject(node.properties) ? node.properties : {};
  for (const [name, propertySchema] of Object.entries(properties)) {
    if (!(name in copy)) continue;
    const wrong = wrongValue(propertySchema, schema);
    if (wrong === undefined) continue;
    copy[name] = wrong;
    return copy;
  }
  if (node.additionalProperties === false) return { ...copy, unexpected_property: true };
  return undefined;
}

const OUTSIDE_ENUM = 'not-one-of-the-allowed-values';

/** A value outside the enum or const if there is one, else a value of a type the property does not accept. */
function wrongValue(raw: unknown, root: unknown): unknown {
  const node = resolveNode(raw, root);
  const hasAlternatives = 'anyOf' in node || 'oneOf' in node;
  if (!hasAlternatives && Array.isArray(node.enum) && node.enum.length > 0) {
    return node.enum.includes(OUTSIDE_ENUM) ? `${OUTSIDE_ENUM}!` : OUTSIDE_ENUM;
  }
  if (!hasAlternatives && node.const !== undefined) {
    return node.const === OUTSIDE_ENUM ? `${OUTSIDE_ENUM}!` : OUTSIDE_ENUM;
  }
  const types = allowedTypes(raw, root);
  if (types === undefined) return undefined;
  // `integer` is a kind of `number`, so a whole number is wrong only when neither is allowed.
  const numeric = types.has('number') || types.has('integer');
  const candidates: unknown[] = ['not the expected type', ...(numeric ? [] : [12345]), true, null, {}, []];
  return candidates.find(
    (candidate) => !types.has(jsonType(candidate)) && !(numeric && jsonType(candidate) === 'integer'),
  );
}

function seededPrng(digest: Buffer, purpose: string): Prng {
  return Prng.fromDigest(createHash('sha256').update(digest).update(purpose).digest());
}
