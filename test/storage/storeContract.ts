/** The behaviour every BatchStore must have; each implementation's test file runs it. */
import type { BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import type { BatchStore } from '../../src/storage/types';
import { chatLines } from '../helpers/fakes';

const success = (custom_id: string, body: unknown = { ok: true }): BatchOutputLine => ({
  id: `x:${custom_id}`,
  custom_id,
  response: { status_code: 200, request_id: 'req', body },
  error: null,
});
const failure = (custom_id: string): BatchOutputLine => ({
  id: `x:${custom_id}`,
  custom_id,
  response: null,
  error: { code: 'invalid_value', message: 'bad' },
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function storeContract(name: string, makeStore: () => Promise<BatchStore>): void {
  describe(`${name} (BatchStore contract)`, () => {
    let store: BatchStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    it('splits input into chunks and reads them back in order', async () => {
      const lines = chatLines(25);
      const manifest = await store.putInput('batch1', lines, 10);
      expect(manifest).toMatchObject({ batchId: 'batch1', total: 25, chunkSize: 10, chunkCount: 3 });
      expect(await store.getManifest('batch1')).toMatchObject({ total: 25, chunkCount: 3 });
      expect(await store.getChunk('batch1', 0)).toEqual(lines.slice(0, 10));
      expect(await store.getChunk('batch1', 2)).toEqual(lines.slice(20));
    });

    it('closes a chunk early when the next line would pass the weight limit', async () => {
      const lines = chatLines(10);
      // weights 1..10 with a limit of 12: [1..4]=10, [5,6]=11, [7]=7, [8]=8, [9]=9, [10]=10 → every chunk ≤ 12
      const manifest = await store.putInput('weighted', lines, 100, {
        max: 12,
        of: (l) => Number(l.custom_id.split('-')[1]) + 1,
      });
      expect(manifest.chunkCount).toBe(6);
      expect((await store.getChunk('weighted', 0)).map((l) => l.custom_id)).toEqual([
        'item-0',
        'item-1',
        'item-2',
        'item-3',
      ]);
      expect((await store.getChunk('weighted', 1)).map((l) => l.custom_id)).toEqual(['item-4', 'item-5']);
      const all = [];
      for (let c = 0; c < manifest.chunkCount; c++) all.push(...(await store.getChunk('weighted', c)));
      expect(all).toEqual(lines);
    });

    it('gives a line heavier than the limit a chunk of its own', async () => {
      const manifest = await store.putInput('heavy', chatLines(3), 100, {
        max: 5,
        of: (l) => (l.custom_id === 'item-1' ? 50 : 2),
      });
      expect(manifest.chunkCount).toBe(3);
      expect((await store.getChunk('heavy', 1)).map((l) => l.custom_id)).toEqual(['item-1']);
    });

    it('accepts an async stream of lines', async () => {
      async function* gen() {
        yield* chatLines(3);
      }
      expect((await store.putInput('batch2', gen(), 2)).chunkCount).toBe(2);
    });

    it('has no manifest for an unknown batch', async () => {
      expect(await store.getManifest('nope')).toBeUndefined();
    });

    it('keeps the first result when a custom_id is recorded twice', async () => {
      await store.putInput('batch3', chatLines(3), 10);
      await store.appendResult('batch3', 0, success('item-0', { first: true }));
      await store.appendResult('batch3', 0, success('item-0', { first: false }));
      await store.appendResult('batch3', 0, failure('item-1'));
      const results = await store.getChunkResults('batch3', 0);
      expect(results.size).toBe(2);
      expect(results.get('item-0')?.response?.body).toEqual({ first: true });
      expect(await collect(store.streamResults('batch3'))).toHaveLength(2);
    });

    it('streams results filtered by outcome', async () => {
      await store.putInput('batch4', chatLines(15), 10);
      await store.appendResult('batch4', 0, success('item-0'));
      await store.appendResult('batch4', 1, failure('item-12'));
      expect((await collect(store.streamResults('batch4', 'succeeded'))).map((r) => r.custom_id)).toEqual(['item-0']);
      expect((await collect(store.streamResults('batch4', 'failed'))).map((r) => r.custom_id)).toEqual(['item-12']);
      expect(await collect(store.streamResults('batch4', 'all'))).toHaveLength(2);
    });

    it('records through a chunk writer, merging appends that arrive together; dedupes with appendResult', async () => {
      await store.putInput('batch6', chatLines(300), 300);
      await store.appendResult('batch6', 0, success('item-0', { first: true }));
      const writer = await store.openResults('batch6', 0);
      // 300 appends in one tick: the writer may merge them, but each promise settles only once written.
      await Promise.all(chatLines(300).map((l) => writer.append(success(l.custom_id, { first: false }))));
      const seen = await store.getChunkResults('batch6', 0);
      expect(seen.size).toBe(300);
      expect(seen.get('item-0')?.response?.body).toEqual({ first: true });
      await writer.append(failure('late'));
      await writer.close();
      expect((await store.getChunkResults('batch6', 0)).get('late')?.error?.code).toBe('invalid_value');
    });

    it('counts each item’s transient failures per chunk, across writers, apart from its results', async () => {
      await store.putInput('fails', chatLines(30), 10);
      expect((await store.getFailureCounts('fails', 0)).size).toBe(0);
      const first = await store.openResults('fails', 0);
      // Failures that arrive together (one chunk attempt) may be merged into one write; each still counts.
      await Promise.all([first.countFailure('item-1'), first.countFailure('item-2'), first.countFailure('item-1')]);
      await first.close();
      const second = await store.openResults('fails', 0); // the chunk's next attempt
      await second.countFailure('item-1');
      await second.append(success('item-2'));
      await second.close();
      expect(await store.getFailureCounts('fails', 0)).toEqual(
        new Map([
          ['item-1', 3],
          ['item-2', 1],
        ]),
      );
      expect((await store.getFailureCounts('fails', 1)).size).toBe(0); // chunks are counted apart
      expect([...(await store.getChunkResults('fails', 0)).keys()]).toEqual(['item-2']); // a failure is not a result
    });

    it('reopens the dead letters of an ended batch: their results, their failure counts and the outcome', async () => {
      await store.putInput('reopen', chatLines(30), 10);
      const first = await store.openResults('reopen', 0);
      await first.countFailure('item-1');
      await first.countFailure('item-3'); // failed once, then succeeded: its count stays
      await Promise.all([first.append(failure('item-1')), first.append(success('item-3'))]);
      await first.append(success('item-1')); // a second result of a dead letter is not what remains
      await first.close();
      await store.appendResult('reopen', 2, failure('item-25'));
      await store.appendResult('reopen', 2, failure('item-26'));
      await store.appendResult('reopen', 1, success('item-10'));
      await store.putOutcome('reopen', { batchId: 'reopen', status: 'completed' } as unknown as BatchProgress);

      expect(await store.reopenFailed('reopen')).toEqual(
        new Map([
          [0, 1],
          [2, 2],
        ]),
      );
      expect(await store.getOutcome('reopen')).toBeUndefined();
      expect([...(await store.getChunkResults('reopen', 0)).keys()]).toEqual(['item-3']);
      expect((await store.getChunkResults('reopen', 2)).size).toBe(0);
      expect([...(await store.getChunkResults('reopen', 1)).keys()]).toEqual(['item-10']);
      expect(await store.getFailureCounts('reopen', 0)).toEqual(new Map([['item-3', 1]]));
      expect((await collect(store.streamResults('reopen', 'failed'))).length).toBe(0);
      // The items run again: their new results are recorded, and nothing is left to reopen.
      await store.appendResult('reopen', 0, success('item-1'));
      expect((await store.getChunkResults('reopen', 0)).get('item-1')?.error).toBeNull();
      expect((await store.reopenFailed('reopen')).size).toBe(0);
      expect((await store.reopenFailed('unknown-batch')).size).toBe(0);
    });

    it('keeps the final outcome of an ended batch', async () => {
      await store.putInput('batch7', chatLines(2), 10);
      expect(await store.getOutcome('batch7')).toBeUndefined();
      const outcome = {
        batchId: 'batch7',
        status: 'completed',
        total: 2,
        succeeded: 2,
        failed: 0,
        pending: 0,
      } as unknown as BatchProgress;
      await store.putOutcome('batch7', outcome);
      expect(await store.getOutcome('batch7')).toEqual(outcome);
    });

    it('keeps small records beside a batch, replaced whole', async () => {
      await store.putInput('rec1', chatLines(1), 10);
      expect(await store.getRecord('rec1', 'openai')).toBeUndefined();
      await store.putRecord('rec1', 'openai', { a: 1, nested: { b: [1, 2] } });
      expect(await store.getRecord('rec1', 'openai')).toEqual({ a: 1, nested: { b: [1, 2] } });
      await store.putRecord('rec1', 'openai', { a: 2 });
      expect(await store.getRecord('rec1', 'openai')).toEqual({ a: 2 });
      expect(await store.getRecord('rec1', 'other')).toBeUndefined();
      await expect(store.putRecord('missing', 'openai', {})).rejects.toThrow();
    });

    it('lists the batches holding a record of a kind in id order, paged with after', async () => {
      for (const id of ['r-c', 'r-a', 'r-d', 'r-b']) await store.putInput(id, chatLines(1), 10);
      await store.putInput('r-none', chatLines(1), 10); // no record: never listed
      for (const id of ['r-c', 'r-a', 'r-d', 'r-b']) await store.putRecord(id, 'openai', { id });
      await store.putRecord('r-none', 'other', {});
      const ids = async (q: Parameters<BatchStore['listRecords']>[1]) =>
        (await store.listRecords('openai', q)).map((r) => r.batchId);
      expect(await ids({ limit: 10, order: 'asc' })).toEqual(['r-a', 'r-b', 'r-c', 'r-d']);
      expect(await ids({ limit: 2, order: 'desc' })).toEqual(['r-d', 'r-c']);
      expect(await ids({ limit: 2, order: 'desc', after: 'r-c' })).toEqual(['r-b', 'r-a']);
      expect(await ids({ limit: 2, order: 'asc', after: 'r-b' })).toEqual(['r-c', 'r-d']);
      expect(await ids({ limit: 2, order: 'desc', after: 'r-a' })).toEqual([]);
      expect((await store.listRecords('openai', { limit: 1, order: 'asc' }))[0]).toEqual({
        batchId: 'r-a',
        record: { id: 'r-a' },
      });
      expect(await store.listRecords('nothing', { limit: 10, order: 'asc' })).toEqual([]);
      // where: only matching records fill the page, so a page is full even when others come between
      const odd = (r: unknown) => ['r-a', 'r-c'].includes((r as { id: string }).id);
      expect(await ids({ limit: 2, order: 'asc', where: odd })).toEqual(['r-a', 'r-c']);
      expect(await ids({ limit: 1, order: 'asc', after: 'r-a', where: odd })).toEqual(['r-c']);
    });

    it('lists records matching tenant, api and a createdAt range', async () => {
      const owners = [
        ['m-1', { tenant: 'a', api: 'project', createdAt: '2026-01-01T00:00:00.000Z' }],
        ['m-2', { tenant: 'b', api: 'project', createdAt: '2026-01-02T00:00:00.000Z' }],
        ['m-3', { tenant: 'a', api: 'v1', createdAt: '2026-01-03T00:00:00.000Z' }],
        ['m-4', { tenant: 'a', api: 'project', createdAt: '2026-01-04T00:00:00.000Z' }],
      ] as const;
      for (const [id, owner] of owners) {
        await store.putInput(id, chatLines(1), 10);
        await store.putRecord(id, 'owner', owner);
      }
      const ids = async (match: Parameters<BatchStore['listRecords']>[1]['match']) =>
        (await store.listRecords('owner', { limit: 10, order: 'desc', match })).map((r) => r.batchId);
      expect(await ids({ tenant: 'a' })).toEqual(['m-4', 'm-3', 'm-1']);
      expect(await ids({ tenant: 'a', api: 'project' })).toEqual(['m-4', 'm-1']);
      expect(await ids({ tenant: 'a', createdFrom: '2026-01-03T00:00:00.000Z' })).toEqual(['m-4', 'm-3']);
      expect(await ids({ tenant: 'a', createdBefore: '2026-01-03T00:00:00.000Z' })).toEqual(['m-1']);
      expect(
        await ids({ tenant: 'a', createdFrom: '2026-01-02T00:00:00.000Z', createdBefore: '2026-01-04T00:00:00.000Z' }),
      ).toEqual(['m-3']);
      expect(await ids({ tenant: 'c' })).toEqual([]);
    });

    it('survives concurrent appends without losing a result', async () => {
      await store.putInput('batch5', chatLines(200), 200);
      await Promise.all(chatLines(200).map((l) => store.appendResult('batch5', 0, success(l.custom_id))));
      expect((await store.getChunkResults('batch5', 0)).size).toBe(200);
    });
  });
}
