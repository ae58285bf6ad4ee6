/**
 * The response cache across batches: provider response bodies by request key, reused for as long as
 * LLMBATCH_CACHE_TTL_HOURS says (given with each lookup). Two implementations, one per data plane: files
 * under the data dir (fileCache.ts) and the `response_cache` table (postgres/responseCache.ts).
 */
import { createHash } from 'node:crypto';
import type { BatchLine } from '../shared/contracts';

export interface ResponseCache {
  /**
   * The response bodies stored under these keys less than `maxAgeMs` ago (the TTL: the caller's policy),
   * by key, in one round trip. A key absent from the answer is a miss (never stored, or expired).
   */
  lookup(keys: readonly string[], maxAgeMs: number): Promise<Map<string, unknown>>;
  /**
   * Stores response bodies by key. An existing entry is replaced
   * and its age restarts, so an expired key becomes fresh again.
   */
  store(entries: ReadonlyMap<string, unknown>): Promise<void>;
}

/** A key is 64 lowercase hex digits (SHA-256): also what keeps file paths inside the cache directory. */
export const CACHE_KEY_PATTERN = /^[0-9a-f]{64}$/;

/** JSON with object keys sorted at every level, so bodies that differ only in key order are one request. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(source)
      .sort()
      .map((k) => [k, sortKeys(source[k])]),
  );
}

/**
 * SHA-256 of the tenant, the endpoint, the model and the canonical body. The tenant scopes entries: a hit
 * must not tell one tenant that another sent the same prompt. The model is in the body too; it is named on
 * its own so that the key says what it covers even if bodies someday stop carrying it.
 */
export function responseCacheKey(tenant: string | undefined, line: Pick<BatchLine, 'url' | 'body'>): string {
  return createHash('sha256')
    .update(canonicalJson([tenant ?? null, line.url, line.body.model ?? null, line.body]))
    .digest('hex');
}

export function checkCacheKey(key: string): string {
  if (!CACHE_KEY_PATTERN.test(key)) throw new Error(`not a response cache key: ${JSON.stringify(key.slice(0, 80))}`);
  return key;
}
