import { PostgresBatchStore } from '../../src/storage/postgres/batchStore';
import { chatLines } from '../helpers/fakes';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { storeContract } from './storeContract';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** The contract reuses batch ids across tests: each test starts from empty tables. */
storeContract('PostgresBatchStore', async () => {
  await db.pool.query('TRUNCATE batches, batch_chunks, results, item_failures, batch_records, batch_slots');
  return new PostgresBatchStore(db.pool);
});

describe('PostgresBatchStore in PostgreSQL', () => {
  it('leaves no chunk rows behind when the input is refused half-way', async () => {
    const store = new PostgresBatchStore(db.pool);
    async function* refused() {
      yield* chatLines(250);
      throw new Error('line 251: bad');
    }
    await expect(store.putInput('refused', refused(), 10)).rejects.toThrow('line 251');
    expect(await store.getManifest('refused')).toBeUndefined();
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM batch_chunks WHERE batch_id = 'refused'");
    expect(rows[0].n).toBe(0);
  });

  it('keeps the first result of a custom_id by a unique constraint, across writers racing', async () => {
    const store = new PostgresBatchStore(db.pool);
    await store.putInput('race', chatLines(50), 50);
    const writers = await Promise.all([
      store.openResults('race', 0),
      store.openResults('race', 0),
      store.openResults('race', 0),
    ]);
    await Promise.all(
      writers.flatMap((w, i) =>
        chatLines(50).map((l) =>
          w.append({
            id: `${i}`,
            custom_id: l.custom_id,
            response: { status_code: 200, request_id: `w${i}`, body: {} },
            error: null,
          }),
        ),
      ),
    );
    await Promise.all(writers.map((w) => w.close()));
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS n, count(DISTINCT custom_id)::int AS d FROM results WHERE batch_id = 'race'",
    );
    expect(rows[0]).toEqual({ n: 50, d: 50 });
  });

  it('streams results across page boundaries in chunk order, each once, filtered', async () => {
    const store = new PostgresBatchStore(db.pool);
    const lines = chatLines(4500);
    await store.putInput('paged', lines, 1000);
    for (let chunk = 0; chunk < 5; chunk++) {
      const writer = await store.openResults('paged', chunk);
      await Promise.all(
        lines.slice(chunk * 1000, (chunk + 1) * 1000).map((l, i) =>
          writer.append(
            i % 3 === 0
              ? { id: l.custom_id, custom_id: l.custom_id, response: null, error: { code: 'x', message: 'y' } }
              : {
                  id: l.custom_id,
                  custom_id: l.custom_id,
                  response: { status_code: 200, request_id: 'r', body: {} },
                  error: null,
                },
          ),
        ),
      );
      await writer.close();
    }
    const all: string[] = [];
    for await (const r of store.streamResults('paged')) all.push(r.custom_id);
    expect(all.length).toBe(4500);
    expect(new Set(all).size).toBe(4500);
    const chunkOf = (id: string) => Math.floor(Number(id.split('-')[1]) / 1000);
    expect(all.map(chunkOf)).toEqual([...all.map(chunkOf)].sort((a, b) => a - b));
    let failed = 0;
    for await (const r of store.streamResults('paged', 'failed')) failed += r.error ? 1 : 0;
    expect(failed).toBe(4 * 334 + 167); // every third line of each chunk failed
  });

  it('filters owner records by tenant with the index', async () => {
    const store = new PostgresBatchStore(db.pool);
    for (const [id, tenant] of [
      ['t-1', 'a'],
      ['t-2', 'b'],
      ['t-3', 'a'],
    ] as const) {
      await store.putInput(id, chatLines(1), 10);
      await store.putRecord(id, 'owner', { tenant });
    }
    const rows = await store.listRecords('owner', { limit: 10, order: 'desc', match: { tenant: 'a' } });
    expect(rows.map((r) => r.batchId)).toEqual(['t-3', 't-1']);
    const plan = await db.pool.query(
      "EXPLAIN SELECT batch_id FROM batch_records WHERE kind = 'owner' AND record->>'tenant' = 'a' ORDER BY " +
        'batch_id DESC LIMIT 10',
    );
    await db.pool.query('SET enable_seqscan = off');
    const forced = await db.pool.query(
      "EXPLAIN SELECT batch_id FROM batch_records WHERE kind = 'owner' AND record->>'tenant' = 'a' ORDER BY " +
        'batch_id DESC LIMIT 10',
    );
    await db.pool.query('SET enable_seqscan = on');
    expect(JSON.stringify(plan.rows) + JSON.stringify(forced.rows)).toContain('batch_records_by_tenant');
  });
});
