import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted at every level, so two bodies that differ
 * only in key order are "the same request" for content and call counting.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Digest of a request: endpoint and canonical body together. */
export function requestDigest(endpoint: string, body: unknown): Buffer {
  return sha256(`${endpoint}\n${canonicalJson(body)}`);
}
