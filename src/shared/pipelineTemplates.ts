/**
 * The template machinery behind pipelines.ts: parsing a step's strings with mustache, walking a body's strings, and
 * rendering a compiled body. Mustache parses; the rendering of the tokens left (text and plain variables, the only
 * ones a checked pipeline has) is done here, because mustache's own would render a missing value as '' and an
 * object in {{{x}}} as "[object Object]", and would look names up the prototype chain (`item.constructor`).
 */
import Mustache from 'mustache';

/** A {{reference}}: its text as written (trimmed) and the dotted path it names. */
export interface Ref {
  name: string;
  segments: string[];
}

/** A parsed template: text and references in order, or why it cannot be rendered. */
export type Parsed = { parts: (string | Ref)[] } | { error: string; tag?: string };

/** A variable, escaped ({{x}}) or not ({{{x}}}, {{& x}}): escaping is ours to do, never HTML's. */
const VARIABLE_TOKENS = new Set(['name', '&']);
const CONSTRUCTS: Record<string, string> = {
  '#': 'a section',
  '^': 'an inverted section',
  '>': 'a partial',
  '!': 'a comment',
  '=': 'a delimiter change',
};

/**
 * Mustache's default writer caches every template it ever parsed, unbounded: in the API that would be every
 * template any client sent. Ours parses without a cache and keeps a bounded one of its own below.
 */
const writer = Object.assign(new Mustache.Writer(), { templateCache: undefined });
/** Bounded by characters, not entries: one client's megabyte-long prompts must not pin gigabytes. */
const MAX_CACHED_CHARS = 4_000_000;
const parsedCache = new Map<string, Parsed>();
let cachedChars = 0;

type Token = [string, string, number, number, ...unknown[]];

function parseUncached(template: string): Parsed {
  let tokens: Token[];
  try {
    tokens = writer.parse(template) as Token[];
  } catch (e) {
    return { error: `template does not parse: ${e instanceof Error ? e.message : String(e)}` };
  }
  const parts: (string | Ref)[] = [];
  for (const [type, value, start, end] of tokens) {
    // Mustache builds text a character at a time: its value is a rope of them, many times the text's size.
    if (type === 'text') parts.push(template.slice(start, end));
    else if (VARIABLE_TOKENS.has(type)) parts.push({ name: value, segments: value.split('.') });
    else {
      const tag = `{{${type}${value}}}`;
      return { tag, error: `${tag} (${CONSTRUCTS[type] ?? type}) is not supported: only {{reference}} is supported` };
    }
  }
  return { parts };
}

/** The parsed form of a string; strings without a tag (most of a body) are not parsed at all. */
export function parseTemplate(template: string): Parsed {
  if (!template.includes('{{')) return { parts: [template] };
  let parsed = parsedCache.get(template);
  if (parsed === undefined) {
    parsed = parseUncached(template);
    if (template.length > MAX_CACHED_CHARS) return parsed;
    // Oldest first: a Map iterates in insertion order, so this is a FIFO bound.
    for (const old of parsedCache.keys()) {
      if (cachedChars + template.length <= MAX_CACHED_CHARS) break;
      parsedCache.delete(old);
      cachedChars -= old.length;
    }
    parsedCache.set(template, parsed);
    cachedChars += template.length;
  }
  return parsed;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `body.messages[0].content`: the path a problem points at, in JavaScript's notation. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Calls `visit` for every string in a JSON value (object keys excepted), with its path. */
export function forEachString(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => forEachString(v, childPath(path, i), visit));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) forEachString(v, childPath(path, k), visit);
  }
}

/**
 * A body compiled once per step: template-free subtrees are kept as they are (`c`) and returned as they are, so
 * rendering walks only the paths that lead to a template.
 */
export type Node =
  | { c: unknown }
  | { t: (string | Ref)[] }
  | { a: Node[] }
  | { o: [string, Node][] }
  | { e: { error: string; tag?: string } };

const isConstant = (n: Node): n is { c: unknown } => 'c' in n;

export function compileNode(value: unknown): Node {
  if (typeof value === 'string') {
    const parsed = parseTemplate(value);
    if ('error' in parsed) return { e: parsed };
    return parsed.parts.every((p) => typeof p === 'string') ? { c: value } : { t: parsed.parts };
  }
  if (Array.isArray(value)) {
    const items = value.map(compileNode);
    return items.every(isConstant) ? { c: value } : { a: items };
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]): [string, Node] => [k, compileNode(v)]);
    return entries.every(([, n]) => isConstant(n)) ? { c: value } : { o: entries };
  }
  return { c: value };
}

/** Why a render stopped: the reference (or tag) at fault and what was wrong. */
export class RenderError extends Error {
  constructor(
    readonly reference: string,
    message: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Follows a reference through own properties only, so no name reaches a prototype. */
function lookup(view: Record<string, unknown>, ref: Ref): unknown {
  let value: unknown = view;
  for (let i = 0; i < ref.segments.length; i++) {
    const key = ref.segments[i] as string;
    if (!isRecord(value) || !Object.hasOwn(value, key)) {
      const owner = ref.segments.slice(0, i).join('.');
      const why =
        i === 0
          ? 'unknown reference'
          : i === 1 && owner === 'steps'
            ? `step ${key} has no output`
            : `${owner} has no field ${JSON.stringify(key)}`;
      throw new RenderError(ref.name, `{{${ref.name}}} has no value: ${why}`);
    }
    value = value[key];
  }
  if (value === undefined || value === null) {
    throw new RenderError(ref.name, `{{${ref.name}}} has no value: it is ${String(value)}`);
  }
  return value;
}

/** A string as it is; anything else as its JSON text, so `{"a":1}` and `3` land in the prompt as written. */
const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function renderParts(parts: (string | Ref)[], view: Record<string, unknown>): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : asText(lookup(view, part));
  return out;
}

/** Renders a compiled node; throws RenderError. Template-free subtrees come back shared, not copied. */
export function renderNode(node: Node, view: Record<string, unknown>): unknown {
  if ('c' in node) return node.c;
  if ('t' in node) return renderParts(node.t, view);
  if ('a' in node) return node.a.map((n) => renderNode(n, view));
  if ('o' in node) {
    const out: Record<string, unknown> = {};
    for (const [k, n] of node.o) setOwn(out, k, renderNode(n, view));
    return out;
  }
  throw new RenderError(node.e.tag ?? '', node.e.error);
}

/** Assignment would make a `__proto__` key (which JSON.parse yields as a plain key) the object's prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true });
  else target[key] = value;
}
