import { toFile, type OpenAI } from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { chatBody, chatLine, clientFor, readJsonl, uploadJsonl, waitForBatch, unchecked } from './helpers';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ batchValidatingMs: 20, batchFinalizingMs: 20, batchLinesPerSecond: 2000 });
  client = clientFor(sim);
});
afterAll(() => sim.close());

const createBatch = (
  inputFileId: string,
  endpoint: '/v1/chat/completions' | '/v1/embeddings' = '/v1/chat/completions',
) =>
  client.batches.create({ input_file_id: inputFileId, endpoint, completion_window: '24h', metadata: { job: 'test' } });

describe('native batches: happy path', () => {
  it('runs validating -> in_progress -> finalizing -> completed with one output line per request', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => chatLine(`item-${i}`, `Review number ${i}: pretty good.`));
    const input = await uploadJsonl(client, lines);
    expect(input).toMatchObject({ object: 'file', purpose: 'batch', filename: 'in.jsonl', status: 'processed' });

    const created = await createBatch(input.id);
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/chat/completions',
      input_file_id: input.id,
      completion_window: '24h',
      output_file_id: null,
      error_file_id: null,
      metadata: { job: 'test' },
    });
    expect(created.id).toMatch(/^batch_/);
    expect(created.expires_at).toBeGreaterThan(created.created_at);

    const seen = new Set<string>();
    const batch = await waitForBatch(client, created.id, (b) => {
      seen.add(b.status);
      return b.status === 'completed';
    });
    expect([...seen].every((s) => ['validating', 'in_progress', 'finalizing', 'completed'].includes(s))).toBe(true);
    expect(batch.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    expect(batch.error_file_id).toBeNull();
    expect(batch.in_progress_at).not.toBeNull();
    expect(batch.finalizing_at).not.toBeNull();
    expect(batch.completed_at).not.toBeNull();
    expect(batch.model).toBe('gpt-4o-mini');
    expect(batch.usage!.input_tokens).toBeGreaterThan(0);

    const outputFile = await client.files.retrieve(batch.output_file_id!);
    expect(outputFile.purpose).toBe('batch_output');
    const output = await readJsonl(client, batch.output_file_id);
    expect(output.map((line) => line.custom_id).sort()).toEqual(lines.map((l) => l.custom_id).sort());
    for (const line of output) {
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(200);
      expect(line.response!.request_id).toMatch(/^req_/);
    }

    // The batch answer equals the realtime answer for the same body.
    for (const index of [0, 17, 39]) {
      const line = output.find((l) => l.custom_id === `item-${index}`);
      const realtime = await client.chat.completions.create(lines[index]!.body);
      expect(line!.response!.body.choices).toEqual(realtime.choices);
      expect(line!.response!.body.usage).toEqual(realtime.usage);
    }
    // Batch lines count as calls of their body: one in the batch, one realtime.
    expect(sim.callsForBody(lines[17]!.body)).toEqual({ calls: 2, successes: 2, faults: 0 });
  });

  it('runs embeddings batches too', async () => {
    const input = await uploadJsonl(client, [
      {
        custom_id: 'e1',
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: 'a', dimensions: 8, encoding_format: 'float' },
      },
      {
        custom_id: 'e2',
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: 'b', dimensions: 8, encoding_format: 'float' },
      },
    ]);
    const batch = await waitForBatch(client, (await createBatch(input.id, '/v1/embeddings')).id);
    expect(batch.status).toBe('completed');
    const output = await readJsonl(client, batch.output_file_id);
    expect(output.map((l) => l.response!.body.data![0]!.embedding.length)).toEqual([8, 8]);
  });

  it('records lines with invalid bodies as per-request 400s in the error file', async () => {
    const lines = [
      chatLine('ok-1', 'first'),
      {
        custom_id: 'bad-no-model',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { messages: [{ role: 'user', content: 'x' }] },
      },
      chatLine('ok-2', 'second'),
      {
        custom_id: 'bad-role',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'x' }] },
      },
      chatLine('ok-3', 'third'),
    ];
    const batch = await waitForBatch(client, (await createBatch((await uploadJsonl(client, lines)).id)).id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 5, completed: 3, failed: 2 });
    const output = await readJsonl(client, batch.output_file_id);
    const errors = await readJsonl(client, batch.error_file_id);
    expect(output.map((l) => l.custom_id)).toEqual(['ok-1', 'ok-2', 'ok-3']);
    expect(errors.map((l) => l.custom_id)).toEqual(['bad-no-model', 'bad-role']);
    for (const line of errors) {
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(400);
      expect(line.response!.body.error!.type).toBe('invalid_request_error');
    }
    expect(errors[0]!.response!.body.error!.param).toBe('model');
    expect(errors[1]!.response!.body.error!.param).toBe('messages[0].role');
  });
});

describe('native batches: validation failures', () => {
  it('fails the batch and names every bad line (1-based)', async () => {
    const lines: unknown[] = [
      chatLine('a', 'one'),
      chatLine('a', 'duplicate id'),
      { ...chatLine('c', 'three'), method: 'GET' },
      { ...chatLine('d', 'four'), url: '/v1/embeddings' },
      '{not json',
      { custom_id: 'f', method: 'POST', url: '/v1/chat/completions', body: 'not an object' },
      { method: 'POST', url: '/v1/chat/completions', body: chatBody('no id') },
    ];
    const batch = await waitForBatch(client, (await createBatch((await uploadJsonl(client, lines)).id)).id);
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).not.toBeNull();
    expect(batch.output_file_id).toBeNull();
    const errors = batch.errors!.data!;
    expect(errors.map((e) => [e.line, e.code, e.param])).toEqual([
      [2, 'duplicate_custom_id', 'custom_id'],
      [3, 'invalid_method', 'method'],
      [4, 'mismatched_url', 'url'],
      [5, 'invalid_json_line', null],
      [6, 'invalid_body', 'body'],
      [7, 'missing_required_parameter', 'custom_id'],
    ]);
    expect(errors.every((e) => typeof e.message === 'string' && e.message.length > 0)).toBe(true);
  });

  it('fails when the input has more lines than maxBatchLines', async () => {
    sim.configure({ maxBatchLines: 3 });
    try {
      const lines = Array.from({ length: 4 }, (_, i) => chatLine(`x${i}`, `line ${i}`));
      const batch = await waitForBatch(client, (await createBatch((await uploadJsonl(client, lines)).id)).id);
      expect(batch.status).toBe('failed');
      expect(batch.errors!.data![0]!.code).toBe('too_many_requests');
    } finally {
      sim.configure({ maxBatchLines: 50_000 });
    }
  });

  it('fails when the input file has no requests', async () => {
    const empty = await client.files.create({
      file: await toFile(Buffer.from('\n\n'), 'empty.jsonl'),
      purpose: 'batch',
    });
    const batch = await waitForBatch(client, (await createBatch(empty.id)).id);
    expect(batch.status).toBe('failed');
    expect(batch.errors!.data![0]!.code).toBe('empty_file');
  });

  it('fails when the input file does not exist (or was deleted before validation)', async () => {
    const batch = await waitForBatch(client, (await createBatch('file-does-not-exist')).id);
    expect(batch.status).toBe('failed');
    expect(batch.errors!.data![0]).toMatchObject({ code: 'file_not_found', param: 'input_file_id' });
  });

  it('rejects bad create requests with 400', async () => {
    const input = await uploadJsonl(client, [chatLine('z', 'z')]);
    const badWindow = client.batches.create({
      input_file_id: input.id,
      endpoint: '/v1/chat/completions',
      completion_window: unchecked('1h'),
    });
    await expect(badWindow).rejects.toMatchObject({ status: 400, error: { param: 'completion_window' } });
    const badEndpoint = client.batches.create({
      input_file_id: input.id,
      endpoint: unchecked('/v1/images'),
      completion_window: '24h',
    });
    await expect(badEndpoint).rejects.toMatchObject({ status: 400, error: { param: 'endpoint' } });
  });
});
