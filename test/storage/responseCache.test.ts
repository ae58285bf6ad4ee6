/** Both response caches against one contract: files in a temporary data dir, and a fresh PostgreSQL database. */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResponseCache } from '../../src/storage/cache';
import { FileResponseCache } from '../../src/storage/fileCache';
import { PostgresResponseCache } from '../../src/storage/postgres/responseCache';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

const HOUR = 3_600_000;
const key = (n: number | string): string => createHash('sha256').update(String(n)).digest('hex');
const body = (n: number) => ({
  id: `chatcmpl-${n}`,
  choices: [{ message: { role: 'assistant', content: `answer ${n} ✓ "quoted"\n` } }],
  usage: { prompt_tokens: n },
});

interface Subject {
  cache: ResponseCache;
  /** Makes the entry under `k` `ms` older than it is. */
  age(k: string, ms: number): Promise<void>;
}

function cacheContract(name: string, open: () => Promise<Subject>) {
  describe(name, () => {
    let s: Subject;
    beforeEach(async () => {
      s = await open();
    });

    it('answers the stored bodies of many keys in one lookup, and misses for the rest', async () => {
      const stored = new Map(Array.from({ length: 300 }, (_, i) => [key(i), body(i)] as const));
      await s.cache.store(stored);
      const asked = [...stored.keys(), key('never'), key(7)]; // a key asked twice is answered once
      const hits = await s.cache.lookup(asked, HOUR);
      expect(hits.size).toBe(300);
      expect(hits.get(key(7))).toEqual(body(7));
      expect(hits.get(key(299))).toEqual(body(299));
      expect(hits.has(key('never'))).toBe(false);
      expect((await s.cache.lookup([], HOUR)).size).toBe(0);
    });

    it('misses an entry older than the TTL, and a later store makes it fresh again', async () => {
      await s.cache.store(
        new Map([
          [key('a'), body(1)],
          [key('b'), body(2)],
        ]),
      );
      await s.age(key('a'), 2 * HOUR);
      const hits = await s.cache.lookup([key('a'), key('b')], HOUR);
      expect([...hits.keys()]).toEqual([key('b')]);
      expect((await s.cache.lookup([key('a')], 3 * HOUR)).get(key('a'))).toEqual(body(1)); // within a longer TTL
      await s.cache.store(new Map([[key('a'), body(3)]]));
      expect((await s.cache.lookup([key('a')], HOUR)).get(key('a'))).toEqual(body(3));
    });

    it('refuses a key that is not a SHA-256 hex digest', async () => {
      await expect(s.cache.store(new Map([['../../etc/passwd', body(1)]]))).rejects.toThrow('not a response cache key');
    });
  });
}

describe('response caches', () => {
  cacheContract('FileResponseCache', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmbatch-cache-'));
    return {
      cache: new FileResponseCache(dir),
      // The entry's own time, moved back in its file.
      age: async (k, ms) => {
        const path = join(dir, 'response-cache', k.slice(0, 2), `${k}.json`);
        const entry = JSON.parse(await readFile(path, 'utf8')) as { storedAt: number };
        await writeFile(path, JSON.stringify({ ...entry, storedAt: entry.storedAt - ms }));
      },
    };
  });

  describe('PostgresResponseCache', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });
    cacheContract('on a fresh database', async () => {
      await db.pool.query('TRUNCATE response_cache');
      return {
        cache: new PostgresResponseCache(db.pool),
        age: async (k, ms) => {
          await db.pool.query(
            "UPDATE response_cache SET created_at = created_at - $2::double precision * interval '1 millisecond' " +
              'WHERE key = $1',
            [k, ms],
          );
        },
      };
    });
  });

  it('FileResponseCache: readers never see a half-written entry while the same key is stored repeatedly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'llmbatch-cache-'));
    const cache = new FileResponseCache(dataDir);
    const big = (n: number) => ({ n, text: String(n).repeat(200_000) });
    const k = key('contended');
    await cache.store(new Map([[k, big(0)]]));
    const writes = Array.from({ length: 10 }, (_, n) => cache.store(new Map([[k, big(n + 1)]])));
    const reads = Array.from(
      { length: 30 },
      async () => (await cache.lookup([k], HOUR)).get(k) as { n: number; text: string },
    );
    const seen = await Promise.all(reads);
    await Promise.all(writes);
    for (const r of seen) expect(r.text).toBe(String(r.n).repeat(200_000));
    // no temporary file left behind
    expect(await readdir(join(dataDir, 'response-cache', k.slice(0, 2)))).toEqual([`${k}.json`]);
  });
});
