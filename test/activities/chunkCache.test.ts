/** The chunk activity with the response cache: what is looked up, what a hit records and costs, what is stored. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { ChunkInput } from '../../src/activities/chunk';
import type { BatchLine } from '../../src/shared/contracts';
import { responseCacheKey, type ResponseCache } from '../../src/storage/cache';
import { FileResponseCache } from '../../src/storage/fileCache';
import { chatLines, fakeOpenAI, MemoryStore, type FakeAnswer } from '../helpers/fakes';

const HOUR = 3_600_000;
const ok = (body: Record<string, unknown>, call: number): FakeAnswer => ({
  status: 200,
  body: { echo: body.messages, call, usage: { prompt_tokens: 10, completion_tokens: 2 } },
});

/** A real file cache on a clock the test moves, recording what the activity asks of it. */
class RecordingCache implements ResponseCache {
  nowMs = Date.parse('2025-01-01T00:00:00Z');
  lookedUp: string[] = [];
  stored: string[] = [];
  failLookups = false;
  failStores = false;
  private readonly files: FileResponseCache;
  constructor(dataDir: string) {
    this.files = new FileResponseCache(dataDir, () => this.nowMs);
  }

  static async create(): Promise<RecordingCache> {
    return new RecordingCache(await mkdtemp(join(tmpdir(), 'llmbatch-cache-')));
  }
  async lookup(keys: readonly string[], maxAgeMs: number) {
    if (this.failLookups) throw new Error('cache unreachable');
    this.lookedUp.push(...keys);
    return this.files.lookup(keys, maxAgeMs);
  }
  async store(entries: ReadonlyMap<string, unknown>) {
    if (this.failStores) throw new Error('cache unreachable');
    this.stored.push(...entries.keys());
    return this.files.store(entries);
  }
}

const withBody = (lines: BatchLine[], extra: Record<string, unknown>): BatchLine[] =>
  lines.map((l) => ({ ...l, body: { ...l.body, ...extra } }));

async function setup(answer: (body: Record<string, unknown>, call: number) => FakeAnswer = ok) {
  const store = new MemoryStore();
  const cache = await RecordingCache.create();
  const fake = fakeOpenAI(answer);
  const acts = createActivities({
    openai: fake.client,
    store,
    config: { itemConcurrency: 4, requestConcurrency: 64 },
    responseCache: { cache, ttlMs: 24 * HOUR },
  });
  /** Puts `lines` in as batch `batchId` and runs its one chunk. */
  const run = async (batchId: string, lines: BatchLine[], cacheOption?: boolean, tenant?: string) => {
    await store.putInput(batchId, lines, 100);
    const input: ChunkInput = {
      batchId,
      chunk: 0,
      maxAttempts: 5,
      ...(cacheOption === undefined ? {} : { cache: cacheOption }),
      ...(tenant === undefined ? {} : { tenant }),
    };
    return new MockActivityEnvironment().run(acts.processChunk, input);
  };
  return { store, cache, fake, run };
}

describe('processChunk with the response cache', () => {
  it('answers a repeated batch from the cache: no provider call, same bodies, counted as hits, no tokens', async () => {
    const { store, fake, run } = await setup();
    const lines = chatLines(8);
    expect(await run('first', lines, true)).toEqual({
      chunk: 0,
      succeeded: 8,
      failed: 0,
      tokensIn: 80,
      tokensOut: 16,
      cacheHits: 0,
    });
    expect(fake.calls).toHaveLength(8);

    expect(await run('second', lines, true)).toEqual({
      chunk: 0,
      succeeded: 8,
      failed: 0,
      tokensIn: 0,
      tokensOut: 0,
      cacheHits: 8,
    });
    expect(fake.calls).toHaveLength(8);
    const [first, second] = [await store.getChunkResults('first', 0), await store.getChunkResults('second', 0)];
    for (const line of lines) {
      const hit = second.get(line.custom_id);
      expect(hit).toMatchObject({
        id: `second:${line.custom_id}`,
        custom_id: line.custom_id,
        error: null,
        response: { status_code: 200, request_id: expect.stringMatching(/^llmbatch-cache:[0-9a-f]{64}$/) },
      });
      expect(hit?.response?.body).toEqual(first.get(line.custom_id)?.response?.body);
    }
  });

  it('uses the cache for temperature-0 lines by default, never for temperature 0.7 without the option', async () => {
    const { cache, fake, run } = await setup();
    const cold = withBody(chatLines(3, 'cold'), { temperature: 0 });
    const warm = withBody(chatLines(3, 'warm'), { temperature: 0.7 });
    await run('a', [...cold, ...warm]);
    expect(await run('b', [...cold, ...warm])).toMatchObject({ succeeded: 6, cacheHits: 3, tokensIn: 30 });
    // The 0.7 lines went to the provider both times and were neither looked up nor stored.
    expect(fake.calls.filter((b) => b.temperature === 0.7)).toHaveLength(6);
    expect(fake.calls.filter((b) => b.temperature === 0)).toHaveLength(3);
    const warmKeys = new Set(warm.map((l) => responseCacheKey(undefined, l)));
    expect(cache.lookedUp.filter((k) => warmKeys.has(k))).toEqual([]);
    expect(cache.stored.filter((k) => warmKeys.has(k))).toEqual([]);
    expect(cache.stored).toHaveLength(3);
  });

  it("keeps each tenant's entries its own: the same lines from another tenant go to the provider", async () => {
    const { fake, run } = await setup();
    const lines = chatLines(4, 'shared');
    await run('a', lines, true, 'acme');
    expect(await run('b', lines, true, 'globex')).toMatchObject({ succeeded: 4, cacheHits: 0 });
    expect(await run('c', lines, true, 'acme')).toMatchObject({ succeeded: 4, cacheHits: 4 });
    expect(fake.calls).toHaveLength(8);
  });

  it('keeps every line out of the cache when the batch says cache: false, temperature 0 included', async () => {
    const { cache, fake, run } = await setup();
    const lines = withBody(chatLines(4), { temperature: 0 });
    await run('a', lines, false);
    expect(await run('b', lines, false)).toMatchObject({ succeeded: 4, cacheHits: 0 });
    expect(fake.calls).toHaveLength(8);
    expect([cache.lookedUp, cache.stored]).toEqual([[], []]);
  });

  it('serves a body whose keys come in another order from the same entry', async () => {
    const { fake, run } = await setup();
    const line: BatchLine = {
      custom_id: 'x',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'hi' }] },
    };
    const reordered: BatchLine = {
      ...line,
      body: { messages: [{ content: 'hi', role: 'user' }], temperature: 0, model: 'gpt-4o-mini' },
    };
    await run('a', [line]);
    expect(await run('b', [reordered])).toMatchObject({ cacheHits: 1 });
    expect(fake.calls).toHaveLength(1);
  });

  it('treats an entry older than the TTL as a miss, and stores the new answer', async () => {
    const { cache, fake, run } = await setup();
    const lines = withBody(chatLines(2), { temperature: 0 });
    await run('a', lines);
    cache.nowMs += 23 * HOUR; // within the 24 h TTL
    expect(await run('b', lines)).toMatchObject({ cacheHits: 2 });
    cache.nowMs += 2 * HOUR; // 25 h after it was stored
    expect(await run('c', lines)).toMatchObject({ cacheHits: 0, tokensIn: 20 });
    expect(fake.calls).toHaveLength(4);
    expect(await run('d', lines)).toMatchObject({ cacheHits: 2 }); // stored again by c
  });

  it('stores only successes: a refused request reaches the provider again', async () => {
    const { cache, fake, run } = await setup((body, call) =>
      JSON.stringify(body).includes('hello 1') ? { status: 400, error: 'bad body' } : ok(body, call),
    );
    const lines = withBody(chatLines(2), { temperature: 0 });
    await run('a', lines);
    expect(await run('b', lines)).toMatchObject({ succeeded: 1, failed: 1, cacheHits: 1 });
    expect(fake.calls.filter((b) => JSON.stringify(b).includes('hello 1'))).toHaveLength(2);
    expect(cache.stored).toHaveLength(1);
  });

  it('fails the attempt (Temporal retries it) when the cache cannot be read, before any provider call', async () => {
    const { cache, fake, run } = await setup();
    cache.failLookups = true;
    await expect(run('a', withBody(chatLines(2), { temperature: 0 }))).rejects.toThrow('cache unreachable');
    expect(fake.calls).toHaveLength(0);
  });

  it('keeps the results when the cache cannot take the answers', async () => {
    const { store, cache, run } = await setup();
    cache.failStores = true;
    expect(await run('a', withBody(chatLines(3), { temperature: 0 }))).toMatchObject({ succeeded: 3, cacheHits: 0 });
    expect((await store.getChunkResults('a', 0)).size).toBe(3);
  });
});

describe('responseCacheKey', () => {
  const line: BatchLine = {
    custom_id: 'a',
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi', name: 'n' }] },
  };

  it('does not depend on key order at any level, nor on the custom_id', () => {
    const reordered = {
      ...line,
      custom_id: 'b',
      body: { messages: [{ name: 'n', content: 'hi', role: 'user' }], model: 'm', temperature: 0 },
    };
    expect(responseCacheKey('t', reordered)).toBe(responseCacheKey('t', line));
    expect(responseCacheKey('t', line)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs with the endpoint, the model, a value or the order of an array', () => {
    const variants: BatchLine[] = [
      { ...line, url: '/v1/responses' },
      { ...line, body: { ...line.body, model: 'other' } },
      { ...line, body: { ...line.body, temperature: 0.5 } },
      { ...line, body: { ...line.body, messages: [{ role: 'user', content: 'hi!' }] } },
      {
        ...line,
        body: {
          ...line.body,
          messages: [
            { role: 'system', content: 's' },
            { role: 'user', content: 'u' },
          ],
        },
      },
      {
        ...line,
        body: {
          ...line.body,
          messages: [
            { role: 'user', content: 'u' },
            { role: 'system', content: 's' },
          ],
        },
      },
    ];
    const keys = new Set([line, ...variants].map((l) => responseCacheKey('t', l)));
    expect(keys.size).toBe(variants.length + 1);
  });

  it('differs by tenant: one tenant never hits an entry another stored', () => {
    expect(responseCacheKey('acme', line)).not.toBe(responseCacheKey('globex', line));
    expect(responseCacheKey(undefined, line)).not.toBe(responseCacheKey('acme', line));
  });
});
