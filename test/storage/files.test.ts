import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileStore, type FileStore } from '../../src/storage/files';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function text(store: FileStore, id: string): Promise<string | undefined> {
  const content = await store.open(id);
  if (!content) return undefined;
  const out: Buffer[] = [];
  for await (const c of content) out.push(c);
  return Buffer.concat(out).toString('utf8');
}

const meta = (id: string, purpose = 'batch') => ({ id, createdAt: 1_700_000_000_000, filename: `${id}.jsonl`, purpose });

describe('LocalFileStore', () => {
  let root: string;
  let store: LocalFileStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'llmbatch-files-'));
    store = new LocalFileStore(root);
  });

  it('stages, commits, reads, lists and deletes a file', async () => {
    const staged = await store.stage(chunks('{"a":1}\n', '{"b":2}\n'));
    expect(staged.bytes).toBe(16);
    expect(await store.list({ limit: 10, order: 'desc' })).toEqual({ data: [], hasMore: false }); // invisible until committed
    const file = await staged.commit(meta('file-1'));
    expect(file).toEqual({ ...meta('file-1'), bytes: 16 });
    expect(await store.get('file-1')).toEqual(file);
    expect(await text(store, 'file-1')).toBe('{"a":1}\n{"b":2}\n');
    await staged.discard(); // after commit: nothing happens
    expect(await store.get('file-1')).toEqual(file);
    expect(await store.delete('file-1')).toBe(true);
    expect(await store.delete('file-1')).toBe(false);
    expect(await store.get('file-1')).toBeUndefined();
    expect(await store.open('file-1')).toBeUndefined();
  });

  it('leaves nothing behind when staged content is discarded or its source fails', async () => {
    const staged = await store.stage(chunks('x'));
    await staged.discard();
    await staged.discard();
    await expect(staged.commit(meta('file-x'))).rejects.toThrow('discarded');
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('client went away');
    }
    await expect(store.stage(broken())).rejects.toThrow('client went away');
    expect(await readdir(join(root, 'openai-files', '.staging'))).toEqual([]);
    expect(await store.list({ limit: 10, order: 'asc' })).toEqual({ data: [], hasMore: false });
  });

  it('lists in id order, paged with after, filtered by purpose', async () => {
    for (const id of ['file-b', 'file-d', 'file-a', 'file-c']) await (await store.stage(chunks(id))).commit(meta(id, id === 'file-c' ? 'other' : 'batch'));
    const ids = async (q: Parameters<FileStore['list']>[0]) => {
      const { data, hasMore } = await store.list(q);
      return { ids: data.map((f) => f.id), hasMore };
    };
    expect(await ids({ limit: 10, order: 'asc' })).toEqual({ ids: ['file-a', 'file-b', 'file-c', 'file-d'], hasMore: false });
    expect(await ids({ limit: 2, order: 'desc' })).toEqual({ ids: ['file-d', 'file-c'], hasMore: true });
    expect(await ids({ limit: 2, order: 'desc', after: 'file-c' })).toEqual({ ids: ['file-b', 'file-a'], hasMore: false });
    expect(await ids({ limit: 2, order: 'asc', purpose: 'batch' })).toEqual({ ids: ['file-a', 'file-b'], hasMore: true });
    expect(await ids({ limit: 2, order: 'asc', purpose: 'batch', after: 'file-b' })).toEqual({ ids: ['file-d'], hasMore: false });
  });

  it('refuses an id twice and ids that could escape the data dir', async () => {
    await (await store.stage(chunks('1'))).commit(meta('file-1'));
    await expect((await store.stage(chunks('2'))).commit(meta('file-1'))).rejects.toThrow('already exists');
    expect(await text(store, 'file-1')).toBe('1');
    await expect((await store.stage(chunks('3'))).commit(meta('file-../x'))).rejects.toThrow('invalid file id');
    expect(await store.get('file-../x')).toBeUndefined();
  });
});
