import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { NotFoundError, toFile } from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { chatLine, clientFor, failureOf, uploadJsonl, unchecked } from './helpers';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  // Batches stay in `validating` (long timer), so listing sees a stable set.
  sim = await startSimulator({ batchValidatingMs: 60_000, maxFileBytes: 64 * 1024 });
  client = clientFor(sim);
});
afterAll(() => sim.close());

describe('files', () => {
  it('uploads, retrieves, lists, serves raw content and deletes', async () => {
    const text = `${JSON.stringify(chatLine('a', 'hello'))}\n`;
    const file = await client.files.create({ file: await toFile(Buffer.from(text), 'one.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(text),
      filename: 'one.jsonl',
      purpose: 'batch',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    expect(await client.files.retrieve(file.id)).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(text);

    const listed = await client.files.list({ purpose: 'batch' });
    expect(listed.data.map((f) => f.id)).toContain(file.id);

    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    expect(await failureOf(client.files.retrieve(file.id))).toBeInstanceOf(NotFoundError);
    const missingContent = await failureOf(client.files.content(file.id));
    expect(missingContent.status).toBe(404);
    expect(missingContent.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining(file.id),
    });
  });

  it('pages the file list with after/limit, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await uploadJsonl(client, [chatLine(`p${i}`, 'x')], `page-${i}.jsonl`)).id);
    const first = await client.files.list({ limit: 2, purpose: 'batch' });
    expect(first.data.map((f) => f.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const second = await client.files.list({ limit: 2, purpose: 'batch', after: ids[1] });
    expect(second.data[0]!.id).toBe(ids[0]);
  });

  it('refuses files over maxFileBytes with 413, and bad purposes or formats with 400', async () => {
    const big = await failureOf(
      client.files.create({ file: await toFile(Buffer.alloc(65 * 1024, 'a'), 'big.jsonl'), purpose: 'batch' }),
    );
    expect(big.status).toBe(413);
    expect(big.error.message).toMatch(/65536 bytes/);
    const purpose = await failureOf(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'x.jsonl'), purpose: unchecked('batch_output') }),
    );
    expect(purpose.status).toBe(400);
    expect(purpose.error.param).toBe('purpose');
    const format = await failureOf(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'x.csv'), purpose: 'batch' }),
    );
    expect(format.status).toBe(400);
    // Refused uploads leave nothing behind, neither listed nor on disk.
    expect((await client.files.list()).data.some((f) => f.filename === 'big.jsonl' || f.filename === 'x.csv')).toBe(
      false,
    );
    expect(await readdir(join(sim.dataDir, 'uploads'))).toEqual([]);
  });
});

describe('batch listing and unknown ids', () => {
  it('lists batches newest first with after/limit paging', async () => {
    const input = await uploadJsonl(client, [chatLine('l', 'list me')]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await client.batches.create({
            input_file_id: input.id,
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
          })
        ).id,
      );
    }
    const newestFirst = [...ids].reverse();
    const page1 = await client.batches.list({ limit: 2 });
    expect(page1.data.map((b) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.has_more).toBe(true);
    const page2 = await client.batches.list({ limit: 2, after: newestFirst[1] });
    expect(page2.data.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));

    // The client's auto-pagination walks every page.
    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all).toEqual(newestFirst);

    const raw = await (await fetch(`${sim.url}/batches?limit=3`)).json();
    expect(raw).toMatchObject({ object: 'list', first_id: newestFirst[0], last_id: newestFirst[2], has_more: true });
    expect((await fetch(`${sim.url}/batches?limit=101`)).status).toBe(400);
  });

  it('answers 404 in the OpenAI error shape for unknown batch and file ids', async () => {
    for (const call of [
      client.batches.retrieve('batch_nope'),
      client.batches.cancel('batch_nope'),
      client.files.retrieve('file-nope'),
      client.files.delete('file-nope'),
    ]) {
      const error = await failureOf(call);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.error).toEqual({
        message: expect.any(String),
        type: 'invalid_request_error',
        param: expect.any(String),
        code: null,
      });
    }
  });

  it('refuses a batch whose input file has the wrong purpose', async () => {
    const file = await client.files.create({
      file: await toFile(Buffer.from('{}'), 'notes.txt'),
      purpose: 'user_data',
    });
    const error = await failureOf(
      client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    );
    expect(error.status).toBe(400);
    expect(error.error.param).toBe('input_file_id');
  });
});
