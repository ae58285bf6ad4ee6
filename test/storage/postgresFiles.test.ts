import { randomBytes } from 'node:crypto';
import { PostgresFileStore } from '../../src/storage/postgres/fileStore';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { broken, chunks, content, fileStoreContract, meta } from './fileStoreContract';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const MiB = 1024 * 1024;
const partCount = async (): Promise<number> =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM file_parts')).rows[0]!.n;

/** The contract reuses file ids across tests: each test starts from empty tables. */
fileStoreContract('PostgresFileStore', async () => {
  await db.pool.query('TRUNCATE files, file_parts');
  return new PostgresFileStore(db.pool);
});

describe('PostgresFileStore in PostgreSQL', () => {
  let store: PostgresFileStore;
  beforeEach(async () => {
    await db.pool.query('TRUNCATE files, file_parts');
    store = new PostgresFileStore(db.pool);
  });

  it('leaves no parts behind when the content stream fails or the upload is discarded', async () => {
    async function* failsLate(): AsyncIterable<Uint8Array> {
      yield randomBytes(3 * MiB); // some parts are already in when the source fails
      yield* broken();
    }
    await expect(store.stage(failsLate())).rejects.toThrow('client went away');
    expect(await partCount()).toBe(0);
    const staged = await store.stage(chunks(randomBytes(2 * MiB + 1)));
    expect(await partCount()).toBe(3);
    await staged.discard();
    expect(await partCount()).toBe(0);
  });

  it('stores a 5 MiB upload in parts of 1 MiB and streams it back byte-identical, a part at a time', async () => {
    const data = randomBytes(5 * MiB + 123);
    // Odd-sized pieces, so that parts are cut across them.
    async function* pieces(): AsyncIterable<Uint8Array> {
      for (let at = 0; at < data.length; at += 65_537) yield data.subarray(at, at + 65_537);
    }
    const file = await (await store.stage(pieces())).commit(meta('file-big'));
    expect(file.bytes).toBe(data.length);
    const { rows } = await db.pool.query<{ part: number; n: number }>(
      'SELECT part, length(data) AS n FROM file_parts ORDER BY part',
    );
    expect(rows).toEqual([0, 1, 2, 3, 4, 5].map((part) => ({ part, n: part < 5 ? MiB : 123 })));
    const sizes: number[] = [];
    for await (const piece of (await store.open('file-big'))!) sizes.push(piece.length);
    expect(sizes).toEqual([MiB, MiB, MiB, MiB, MiB, 123]);
    expect((await content(store, 'file-big'))!.equals(data)).toBe(true);
    expect(await store.delete('file-big')).toBe(true);
    expect(await partCount()).toBe(0);
  });

  it('fails a read whose file is deleted half-way rather than returning it short', async () => {
    await (await store.stage(chunks(randomBytes(3 * MiB)))).commit(meta('file-gone'));
    const reader = (await store.open('file-gone'))![Symbol.asyncIterator]();
    expect((await reader.next()).value).toHaveLength(MiB);
    await store.delete('file-gone');
    await expect(reader.next()).rejects.toThrow('file file-gone was deleted while being read');
  });

  it('keeps createdAt to the millisecond and file ids in the "C" collation whatever the server default', async () => {
    await (await store.stage(chunks('x'))).commit({ ...meta('file-t'), createdAt: 1_700_000_000_999 });
    expect((await store.get('file-t'))!.createdAt).toBe(1_700_000_000_999);
    const { rows } = await db.pool.query(
      "SELECT collation_name FROM information_schema.columns WHERE table_name = 'files' AND column_name = 'file_id'",
    );
    expect(rows).toEqual([{ collation_name: 'C' }]);
  });
});
