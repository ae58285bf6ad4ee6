/**
 * Flattening of JSON Schema nodes for the answer generator: local `$ref`s and
 * `allOf` are merged into one node, so generation and deliberate violations
 * look at plain keywords only.
 */
export type SchemaNode = Record<string, unknown>;

/** A `$ref` chain longer than this is a cycle (`#/$defs/a` -> `#/$defs/a`), not a schema. */
const MAX_REF_HOPS = 32;

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The node with `$ref` (local: `#`, `#/$defs/...`, `#/definitions/...`) and `allOf` merged in. */
export function resolveNode(raw: unknown, root: unknown, hops = 0): SchemaNode {
  if (!isPlainObject(raw) || hops > MAX_REF_HOPS) return {};
  let node: SchemaNode = raw;
  if (typeof node.$ref === 'string') {
    const { $ref, ...siblings } = node;
    // 2020-12 applies siblings of $ref too; both are constraints, so merging them is close enough.
    node = { ...resolveNode(pointerTarget(root, $ref), root, hops + 1), ...siblings };
  }
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    node = (allOf as unknown[]).reduce<SchemaNode>(
      (merged, branch) => mergeNodes(merged, resolveNode(branch, root, hops + 1)),
      rest,
    );
  }
  return node;
}

/**
 * What the generator follows: the resolved node, and for `anyOf`/`oneOf` the
 * first branch merged with the keywords beside it.
 */
export function effectiveNode(raw: unknown, root: unknown): SchemaNode {
  const node = resolveNode(raw, root);
  const branches = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (branches === undefined || branches.length === 0) return node;
  const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = node;
  return mergeNodes(rest, effectiveNode(branches[0], root));
}

/** Shallow merge; `properties` and `required` are combined because allOf commonly splits an object that way. */
function mergeNodes(a: SchemaNode, b: SchemaNode): SchemaNode {
  const merged: SchemaNode = { ...a, ...b };
  if (isPlainObject(a.properties) || isPlainObject(b.properties)) {
    merged.properties = {
      ...(isPlainObject(a.properties) ? a.properties : {}),
      ...(isPlainObject(b.properties) ? b.properties : {}),
    };
  }
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    merged.required = [...new Set([...asArray(a.required), ...asArray(b.required)])];
  }
  return merged;
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** JSON Pointer inside the request's own schema; anything else (remote refs) resolves to "any value". */
function pointerTarget(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return {};
  const pointer = ref.slice(1);
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return {};
  let current: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = safeDecode(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) current = current[Number(key)];
    else if (isPlainObject(current)) current = current[key];
    else return {};
  }
  return current ?? {};
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The JSON type the generator emits for a node (first non-null of a type array), inferred when `type` is absent. */
export function generatedType(node: SchemaNode): string | undefined {
  if (typeof node.type === 'string') return node.type;
  if (Array.isArray(node.type)) {
    const types = node.type.filter((t): t is string => typeof t === 'string');
    return types.find((t) => t !== 'null') ?? types[0];
  }
  if ('properties' in node || 'required' in node || 'additionalProperties' in node) return 'object';
  if ('items' in node || 'prefixItems' in node || 'minItems' in node || 'maxItems' in node) return 'array';
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].some((k) => k in node)) return 'number';
  return undefined;
}

/**
 * The JSON types a node can accept, or undefined when any type may pass.
 * Used to pick a value of a wrong type: every keyword read here is a
 * necessary condition, so a value outside the set fails whatever else the
 * schema says.
 */
export function allowedTypes(raw: unknown, root: unknown, depth = 0): Set<string> | undefined {
  const node = resolveNode(raw, root);
  if (typeof node.type === 'string') return new Set([node.type]);
  if (Array.isArray(node.type)) return new Set(node.type.filter((t): t is string => typeof t === 'string'));
  if (node.const !== undefined) return new Set([jsonType(node.const)]);
  if (Array.isArray(node.enum)) return new Set(node.enum.map(jsonType));
  const branches = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (branches === undefined || depth > MAX_REF_HOPS) return undefined;
  const union = new Set<string>();
  for (const branch of branches) {
    const types = allowedTypes(branch, root, depth + 1);
    if (types === undefined) return undefined;
    for (const type of types) union.add(type);
  }
  return union;
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
