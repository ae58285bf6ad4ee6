/**
 * The request store of POST /requests (the gatherer's claim check), on files and on PostgreSQL: a stored request
 * reads back as written, an unknown id is absent, and assigning a batch (twice, as a retried flush does) shows on
 * exactly the requests assigned.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresRequestStore } from '../../src/storage/postgres/requestStore';
import { FileRequestStore, type RequestStore, type StoredRequest } from '../../src/storage/requests';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

const id = (n: number): string => `req_${n.toString(16).padStart(24, '0')}`;
const request = (n: number): StoredRequest => ({
  tenant: 'acme',
  lane: 'default',
  customId: n % 2 ? `mine-${n}` : null,
  createdAt: new Date(1_700_000_000_000 + n).toISOString(),
  line: {
    custom_id: id(n),
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${n}` }] },
  },
});

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const stores: [string, () => Promise<RequestStore>][] = [
  ['files', async () => new FileRequestStore(await mkdtemp(join(tmpdir(), 'llmbatch-requests-')))],
  ['PostgreSQL', async () => new PostgresRequestStore(db.pool)],
];

describe.each(stores)('RequestStore on %s', (_name, open) => {
  it('reads a request back as stored, with its batch once assigned, and nothing for an unknown id', async () => {
    const store = await open();
    for (const n of [1, 2, 3]) await store.put(id(n), request(n));
    expect(await store.get(id(1))).toEqual(request(1));
    expect(await store.get(id(2))).toEqual(request(2));
    expect(await store.get(id(99))).toBeUndefined();

    await store.assign([id(1), id(2)], 'batch_0123456789abcdef01234567');
    await store.assign([id(1), id(2)], 'batch_0123456789abcdef01234567'); // a retried flush
    expect(await store.get(id(1))).toEqual({ ...request(1), batchId: 'batch_0123456789abcdef01234567' });
    expect((await store.get(id(2)))?.batchId).toBe('batch_0123456789abcdef01234567');
    expect(await store.get(id(3))).toEqual(request(3));
  });
});
