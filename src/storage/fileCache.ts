/**
 * The response cache of the embedded store: one file per entry,
 *   <data dir>/response-cache/<first 2 hex of the key>/<key>.json   {"storedAt": <epoch ms>, "body": …}
 * written to a temporary name and renamed, so a reader sees a whole entry or none. The 256 directories
 * keep any one of them small. Expired entries stay on disk until their key is stored again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCacheKey, type ResponseCache } from './cache';

interface Entry {
  storedAt: number;
  body: unknown;
}

/** Files read or written at once: a chunk's worth of keys, without opening a hundred files together. */
const IO_CONCURRENCY = 16;

export class FileResponseCache implements ResponseCache {
  private readonly dir: string;

  constructor(
    dataDir: string,
    /** Tests move time forward to expire entries. */
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(dataDir, 'response-cache');
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${checkCacheKey(key)}.json`);
  }

  async lookup(keys: readonly string[], maxAgeMs: number): Promise<Map<string, unknown>> {
    const hits = new Map<string, unknown>();
    const oldest = this.now() - maxAgeMs;
    await forEachLimited([...new Set(keys)], async (key) => {
      const entry = await this.read(key);
      if (entry && entry.storedAt > oldest) hits.set(key, entry.body);
    });
    return hits;
  }

  async store(entries: ReadonlyMap<string, unknown>): Promise<void> {
    const storedAt = this.now();
    await forEachLimited([...entries], async ([key, body]) => {
      const path = this.path(key);
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
      try {
        await writeFile(tmp, JSON.stringify({ storedAt, body } satisfies Entry));
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    });
  }

  private async read(key: string): Promise<Entry | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const entry = JSON.parse(text) as Partial<Entry>;
      return typeof entry.storedAt === 'number' && 'body' in entry
        ? { storedAt: entry.storedAt, body: entry.body }
        : undefined;
    } catch {
      return undefined; // not ours or damaged (a disk error): a miss, and the next store replaces it
    }
  }
}

async function forEachLimited<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(IO_CONCURRENCY, items.length) }, lane));
}
