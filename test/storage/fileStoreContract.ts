/** The behaviour every FileStore (the /v1 uploads) must have; each implementation's test file runs it. */
import type { FileStore } from '../../src/storage/files';

export async function* chunks(...parts: Array<string | Buffer>): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

export async function content(store: FileStore, id: string): Promise<Buffer | undefined> {
  const stream = await store.open(id);
  if (!stream) return undefined;
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c);
  return Buffer.concat(out);
}

export const meta = (id: string, purpose = 'batch', tenant?: string) => ({
  id,
  createdAt: 1_700_000_000_123,
  filename: `${id}.jsonl`,
  purpose,
  ...(tenant !== undefined && { tenant }),
});

export async function* broken(): AsyncIterable<Uint8Array> {
  yield Buffer.from('partial');
  throw new Error('client went away');
}

export function fileStoreContract(name: string, makeStore: () => Promise<FileStore>): void {
  describe(`${name} (FileStore contract)`, () => {
    let store: FileStore;
    const text = async (id: string) => (await content(store, id))?.toString('utf8');
    const ids = async (q: Parameters<FileStore['list']>[0]) => {
      const { data, hasMore } = await store.list(q);
      return { ids: data.map((f) => f.id), hasMore };
    };
    beforeEach(async () => {
      store = await makeStore();
    });

    it('stages, commits, reads, lists and deletes a file', async () => {
      const staged = await store.stage(chunks('{"a":1}\n', '{"b":2}\n'));
      expect(staged.bytes).toBe(16);
      // invisible until committed
      expect(await store.list({ limit: 10, order: 'desc' })).toEqual({ data: [], hasMore: false });
      const file = await staged.commit(meta('file-1'));
      expect(file).toEqual({ ...meta('file-1'), bytes: 16 });
      expect(await store.get('file-1')).toEqual(file);
      expect(await text('file-1')).toBe('{"a":1}\n{"b":2}\n');
      await staged.discard(); // after commit: nothing happens
      expect(await store.get('file-1')).toEqual(file);
      expect(await store.delete('file-1')).toBe(true);
      expect(await store.delete('file-1')).toBe(false);
      expect(await store.get('file-1')).toBeUndefined();
      expect(await store.open('file-1')).toBeUndefined();
    });

    it('keeps the tenant, and bytes exactly as uploaded, empty files included', async () => {
      const binary = Buffer.from([0, 255, 10, 13, 0xc3, 0x28, 0]);
      const file = await (
        await store.stage(chunks(binary.subarray(0, 3), binary.subarray(3)))
      ).commit(meta('file-bin', 'batch', 'acme'));
      expect(file).toEqual({ ...meta('file-bin', 'batch', 'acme'), bytes: 7 });
      expect(await store.get('file-bin')).toEqual(file);
      expect(await content(store, 'file-bin')).toEqual(binary);
      const empty = await store.stage(chunks());
      expect(empty.bytes).toBe(0);
      await empty.commit(meta('file-empty'));
      expect(await store.get('file-empty')).toMatchObject({ bytes: 0 });
      expect(await content(store, 'file-empty')).toEqual(Buffer.alloc(0));
    });

    it('leaves nothing visible when staged content is discarded or its source fails', async () => {
      const staged = await store.stage(chunks('x'));
      await staged.discard();
      await staged.discard();
      await expect(staged.commit(meta('file-x'))).rejects.toThrow('discarded');
      await expect(store.stage(broken())).rejects.toThrow('client went away');
      expect(await store.list({ limit: 10, order: 'asc' })).toEqual({ data: [], hasMore: false });
      expect(await store.get('file-x')).toBeUndefined();
    });

    it('lists in id order, paged with after, filtered by purpose', async () => {
      for (const id of ['file-b', 'file-d', 'file-a', 'file-c'])
        await (await store.stage(chunks(id))).commit(meta(id, id === 'file-c' ? 'other' : 'batch'));
      expect(await ids({ limit: 10, order: 'asc' })).toEqual({
        ids: ['file-a', 'file-b', 'file-c', 'file-d'],
        hasMore: false,
      });
      expect(await ids({ limit: 2, order: 'desc' })).toEqual({ ids: ['file-d', 'file-c'], hasMore: true });
      expect(await ids({ limit: 2, order: 'desc', after: 'file-c' })).toEqual({
        ids: ['file-b', 'file-a'],
        hasMore: false,
      });
      expect(await ids({ limit: 2, order: 'asc', purpose: 'batch' })).toEqual({
        ids: ['file-a', 'file-b'],
        hasMore: true,
      });
      expect(await ids({ limit: 2, order: 'asc', purpose: 'batch', after: 'file-b' })).toEqual({
        ids: ['file-d'],
        hasMore: false,
      });
    });

    it('orders ids by their characters, case and punctuation included', async () => {
      for (const id of ['file-a', 'file-_', 'file-B', 'file-0']) await (await store.stage(chunks(id))).commit(meta(id));
      expect(await ids({ limit: 10, order: 'asc' })).toEqual({
        ids: ['file-0', 'file-B', 'file-_', 'file-a'],
        hasMore: false,
      });
      expect(await ids({ limit: 10, order: 'desc', after: 'file-_' })).toEqual({
        ids: ['file-B', 'file-0'],
        hasMore: false,
      });
    });

    it('shows a tenant only its own files', async () => {
      for (const [id, tenant] of [
        ['file-1', 'a'],
        ['file-2', 'b'],
        ['file-3', 'a'],
        ['file-4', undefined],
      ] as const) {
        await (await store.stage(chunks(id))).commit(meta(id, 'batch', tenant));
      }
      expect(await ids({ limit: 10, order: 'desc', tenant: 'a' })).toEqual({
        ids: ['file-3', 'file-1'],
        hasMore: false,
      });
      expect(await ids({ limit: 1, order: 'asc', tenant: 'a' })).toEqual({ ids: ['file-1'], hasMore: true });
      expect(await ids({ limit: 10, order: 'asc', tenant: 'c' })).toEqual({ ids: [], hasMore: false });
      expect(await ids({ limit: 10, order: 'asc' })).toEqual({
        ids: ['file-1', 'file-2', 'file-3', 'file-4'],
        hasMore: false,
      });
    });

    it('refuses an id twice and ids outside FILE_ID_PATTERN', async () => {
      await (await store.stage(chunks('1'))).commit(meta('file-1'));
      const again = await store.stage(chunks('2'));
      await expect(again.commit(meta('file-1'))).rejects.toThrow('file file-1 already exists');
      await again.discard(); // still staged after a refusal: the caller drops it
      expect(await text('file-1')).toBe('1');
      await expect((await store.stage(chunks('3'))).commit(meta('file-../x'))).rejects.toThrow(
        'invalid file id: file-../x',
      );
      expect(await store.get('file-../x')).toBeUndefined();
      expect(await store.open('file-../x')).toBeUndefined();
      expect(await store.delete('file-../x')).toBe(false);
    });
  });
}
