import { appendFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBatchStore } from '../../src/storage/fileStore';
import { chatLines } from '../helpers/fakes';
import { storeContract } from './storeContract';

storeContract('FileBatchStore', async () => new FileBatchStore(await mkdtemp(join(tmpdir(), 'llmbatch-store-'))));

describe('FileBatchStore on disk', () => {
  it('ignores a line torn by a killed process and keeps later results', async () => {
    const root = await mkdtemp(join(tmpdir(), 'llmbatch-store-'));
    const store = new FileBatchStore(root);
    await store.putInput('b', chatLines(3), 10);
    await appendFile(
      join(root, 'batches', 'b', 'results', '0000000.jsonl'),
      '\n{"id":"b:item-0","custom_id":"item-0","resp',
    );
    await store.appendResult('b', 0, {
      id: 'b:item-1',
      custom_id: 'item-1',
      response: { status_code: 200, request_id: 'r', body: {} },
      error: null,
    });
    const results = await store.getChunkResults('b', 0);
    expect([...results.keys()]).toEqual(['item-1']);
  });

  it('skips a failure record torn by a killed process and counts the rest', async () => {
    const root = await mkdtemp(join(tmpdir(), 'llmbatch-store-'));
    const store = new FileBatchStore(root);
    await store.putInput('b', chatLines(3), 10);
    const writer = await store.openResults('b', 0);
    await writer.countFailure('item-0');
    await writer.close();
    await appendFile(join(root, 'batches', 'b', 'failures', '0000000.jsonl'), '\n{"custom_id":"item-');
    const next = await store.openResults('b', 0);
    await next.countFailure('item-0');
    await next.close();
    expect(await store.getFailureCounts('b', 0)).toEqual(new Map([['item-0', 2]]));
  });

  it('writes no failure file for a chunk attempt without failures', async () => {
    const root = await mkdtemp(join(tmpdir(), 'llmbatch-store-'));
    const store = new FileBatchStore(root);
    await store.putInput('b', chatLines(3), 10);
    const writer = await store.openResults('b', 0);
    await writer.append({
      id: 'b:item-0',
      custom_id: 'item-0',
      response: { status_code: 200, request_id: 'r', body: {} },
      error: null,
    });
    await writer.close();
    expect(await readdir(join(root, 'batches', 'b'))).not.toContain('failures');
  });

  it('leaves nothing at all, not even its staging dir, when writing the input fails part-way', async () => {
    const root = await mkdtemp(join(tmpdir(), 'llmbatch-store-'));
    const store = new FileBatchStore(root);
    async function* broken() {
      yield* chatLines(5);
      throw new Error('client went away');
    }
    await expect(store.putInput('half', broken(), 2)).rejects.toThrow('client went away');
    expect(await store.getManifest('half')).toBeUndefined();
    expect(await readdir(join(root, 'batches'))).toEqual([]); // no `half`, and no `half.staging` left to pile up
  });

  it('rejects batch ids that could escape the data dir', async () => {
    const store = new FileBatchStore(await mkdtemp(join(tmpdir(), 'llmbatch-store-')));
    await expect(store.getManifest('../etc')).rejects.toThrow('invalid batch id');
  });
});
