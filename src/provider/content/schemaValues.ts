import type { Prng } from '../prng';
import { SENTIMENT_LABELS, type SentimentLabel } from './lexicon';
import { generatePhrase } from './prose';
import type { SchemaNode } from './schemaResolve';

/** Span used when a schema bounds a number on one side only (or not at all). */
const DEFAULT_SPAN = 100;
/** Bigger minLength values are someone's mistake; padding to them would make a huge answer. */
const MAX_GENERATED_LENGTH = 10_000;

const numberKeyword = (node: SchemaNode, key: string): number | undefined => {
  const value = node[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

/** A number (or integer) within minimum/maximum/exclusiveMinimum/exclusiveMaximum. */
export function numberFor(rng: Prng, node: SchemaNode, integer: boolean): number {
  const minimum = numberKeyword(node, 'minimum');
  const maximum = numberKeyword(node, 'maximum');
  const exclusiveMinimum = numberKeyword(node, 'exclusiveMinimum');
  const exclusiveMaximum = numberKeyword(node, 'exclusiveMaximum');
  const fits = (v: number): boolean =>
    (minimum === undefined || v >= minimum) &&
    (maximum === undefined || v <= maximum) &&
    (exclusiveMinimum === undefined || v > exclusiveMinimum) &&
    (exclusiveMaximum === undefined || v < exclusiveMaximum);

  if (integer) {
    const lows = [
      minimum === undefined ? undefined : Math.ceil(minimum),
      exclusiveMinimum === undefined ? undefined : Math.floor(exclusiveMinimum) + 1,
    ];
    const highs = [
      maximum === undefined ? undefined : Math.floor(maximum),
      exclusiveMaximum === undefined ? undefined : Math.ceil(exclusiveMaximum) - 1,
    ];
    const [low, high] = span(maxOf(lows), minOf(highs));
    return low > high ? low : rng.int(low, high);
  }
  const [low, high] = span(maxOf([minimum, exclusiveMinimum]), minOf([maximum, exclusiveMaximum]));
  // Two decimals reads like a model's number; keep off the exact bounds, which may be exclusive.
  const candidate = Math.round((low + (high - low) * (0.05 + 0.9 * rng.next())) * 100) / 100;
  if (fits(candidate)) return candidate;
  const middle = (low + high) / 2;
  return fits(middle) ? middle : low;
}

function span(low: number | undefined, high: number | undefined): [number, number] {
  if (low === undefined && high === undefined) return [0, DEFAULT_SPAN];
  if (low === undefined) return [high! - DEFAULT_SPAN, high!];
  if (high === undefined) return [low, low + DEFAULT_SPAN];
  return [low, high];
}

const defined = (values: (number | undefined)[]): number[] => values.filter((v): v is number => v !== undefined);
const maxOf = (values: (number | undefined)[]): number | undefined =>
  defined(values).length === 0 ? undefined : Math.max(...defined(values));
const minOf = (values: (number | undefined)[]): number | undefined =>
  defined(values).length === 0 ? undefined : Math.min(...defined(values));

/** A string honouring `format` (common ones), else a phrase fitted to minLength/maxLength. */
export function stringFor(rng: Prng, node: SchemaNode, name: string, sentiment: SentimentLabel | undefined): string {
  const formatted = typeof node.format === 'string' ? formattedString(rng, node.format) : undefined;
  if (formatted !== undefined) return formatted;
  const text = /sentiment|label/i.test(name) ? (sentiment ?? rng.pick(SENTIMENT_LABELS)) : generatePhrase(rng, 2, 8);
  return fitLength(rng, text, numberKeyword(node, 'minLength'), numberKeyword(node, 'maxLength'));
}

function fitLength(rng: Prng, text: string, minLength: number | undefined, maxLength: number | undefined): string {
  let result = text;
  const min = Math.min(minLength ?? 0, MAX_GENERATED_LENGTH);
  while (result.length < min) result += ` ${generatePhrase(rng, 2, 8)}`;
  if (maxLength !== undefined && result.length > maxLength) result = result.slice(0, Math.max(0, maxLength)).trimEnd();
  // Trimming a trailing space may undercut minLength when the bounds are tight.
  return result.length < min ? result.padEnd(min, 'x') : result;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const word = (rng: Prng): string => generatePhrase(rng, 1, 1).replace(/[^a-z]/g, '') || 'item';

function formattedString(rng: Prng, format: string): string | undefined {
  const date = `${rng.int(2020, 2025)}-${pad2(rng.int(1, 12))}-${pad2(rng.int(1, 28))}`;
  const time = `${pad2(rng.int(0, 23))}:${pad2(rng.int(0, 59))}:${pad2(rng.int(0, 59))}Z`;
  switch (format) {
    case 'date-time':
      return `${date}T${time}`;
    case 'date':
      return date;
    case 'time':
      return time;
    case 'email':
      return `${word(rng)}.${word(rng)}@example.com`;
    case 'uri':
    case 'url':
    case 'uri-reference':
    case 'iri':
      return `https://example.com/${word(rng)}/${rng.int(1, 999)}`;
    case 'hostname':
      return `${word(rng)}.example.com`;
    case 'ipv4':
      return `192.0.2.${rng.int(1, 254)}`;
    case 'uuid':
      return uuid(rng);
    default:
      return undefined;
  }
}

function uuid(rng: Prng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
