import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileStore } from '../../src/storage/files';
import { broken, chunks, fileStoreContract } from './fileStoreContract';

const newRoot = () => mkdtemp(join(tmpdir(), 'llmbatch-files-'));

fileStoreContract('LocalFileStore', async () => new LocalFileStore(await newRoot()));

describe('LocalFileStore on disk', () => {
  it('leaves nothing in the staging dir when staged content is discarded or its source fails', async () => {
    const root = await newRoot();
    const store = new LocalFileStore(root);
    await (await store.stage(chunks('x'))).discard();
    await expect(store.stage(broken())).rejects.toThrow('client went away');
    expect(await readdir(join(root, 'openai-files', '.staging'))).toEqual([]);
  });
});
