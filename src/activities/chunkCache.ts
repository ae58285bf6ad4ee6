/**
 * The response cache as one chunk activity uses it: which lines may use it, one lookup for the chunk's
 * pending ones, and the provider's answers stored together at the end. A hit is recorded like a provider
 * success whose request_id says it came from the cache, which is how counts tell hits apart (no tokens).
 */
import type { BatchLine, BatchOutputLine } from '../shared/contracts';
import { responseCacheKey, type ResponseCache } from '../storage/cache';

export interface CacheDeps {
  cache: ResponseCache;
  /** Entries older than this are misses (LLMBATCH_CACHE_TTL_HOURS). */
  ttlMs: number;
}

/**
 * The batch's `cache` option decides: true every line, false none. Absent, a line with `temperature: 0`
 * uses the cache: its answer is meant to be the same every time, so a repeat would buy the same answer.
 */
export function isCacheable(line: BatchLine, option: boolean | undefined): boolean {
  return option ?? line.body.temperature === 0;
}

const CACHE_REQUEST_ID_PREFIX = 'llmbatch-cache:';

/** Whether a recorded result was served from the cache (and so cost nothing). */
export const isCacheHit = (r: BatchOutputLine): boolean =>
  r.response?.request_id.startsWith(CACHE_REQUEST_ID_PREFIX) === true;

/**
 * Only 200s are stored: OpenAI-compatible endpoints answer a success with 200, and a hit is recorded as one.
 * An error is never cached, so a retry of a failed request always reaches the provider.
 */
const STORED_STATUS = 200;

export class ChunkCache {
  /** custom_id → key, for the cacheable lines only. */
  private readonly keys = new Map<string, string>();
  /** key → response body, to store when the chunk is done. */
  private readonly answers = new Map<string, unknown>();

  constructor(
    private readonly deps: CacheDeps | undefined,
    lines: readonly BatchLine[],
    option: boolean | undefined,
    tenant: string | undefined,
  ) {
    if (!deps) return;
    for (const line of lines)
      if (isCacheable(line, option)) this.keys.set(line.custom_id, responseCacheKey(tenant, line));
  }

  /** The results the cache holds for these lines, in one lookup; lines that may not use the cache are not looked up. */
  async hits(batchId: string, lines: readonly BatchLine[]): Promise<BatchOutputLine[]> {
    const wanted = lines.flatMap((l) => {
      const key = this.keys.get(l.custom_id);
      return key === undefined ? [] : [{ line: l, key }];
    });
    if (!this.deps || wanted.length === 0) return [];
    const bodies = await this.deps.cache.lookup(
      wanted.map((w) => w.key),
      this.deps.ttlMs,
    );
    return wanted.flatMap(({ line, key }) =>
      bodies.has(key)
        ? [
            {
              id: `${batchId}:${line.custom_id}`,
              custom_id: line.custom_id,
              response: {
                status_code: STORED_STATUS,
                request_id: `${CACHE_REQUEST_ID_PREFIX}${key}`,
                body: bodies.get(key),
              },
              error: null,
            },
          ]
        : [],
    );
  }

  /** Keeps a provider's answer of a cacheable line for `flush`. */
  remember(line: BatchLine, statusCode: number, body: unknown): void {
    const key = this.keys.get(line.custom_id);
    if (key !== undefined && statusCode === STORED_STATUS && body !== undefined) this.answers.set(key, body);
  }

  /** Stores the answers kept so far in one call; they are kept again only by a later attempt's own calls. */
  async flush(): Promise<void> {
    if (!this.deps || this.answers.size === 0) return;
    const entries = new Map(this.answers);
    this.answers.clear();
    await this.deps.cache.store(entries);
  }
}
