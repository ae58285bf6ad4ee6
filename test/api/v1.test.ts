/**
 * The OpenAI-compatible /v1 API, driven by the official `openai`
 * client against a real dev server, worker and simulator.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { APIError, toFile } from 'openai';
import { LIMITS, type BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

// 2 chunks × 8 requests in flight: slow enough, with the simulator's latency, to cancel a batch half-way.
const stack = useApiStack({ LLMBATCH_MAX_CHUNKS_IN_FLIGHT: '2', LLMBATCH_ITEM_CONCURRENCY: '8' });
let openai: OpenAI;
beforeAll(() => {
  openai = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'unused', maxRetries: 0 });
});

const jsonl = (lines: unknown[]): string => lines.map((l) => `${JSON.stringify(l)}\n`).join('');
const upload = async (content: string | Buffer, filename = 'input.jsonl') =>
  openai.files.create({ file: await toFile(Buffer.from(content), filename), purpose: 'batch' });
const parseLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          id: string;
          custom_id: string;
          response: { status_code: number; body: Record<string, unknown> } | null;
          error: { code: string; message: string } | null;
        },
    );

async function until(id: string, done: (b: OpenAI.Batch) => boolean, timeoutMs = 60_000): Promise<OpenAI.Batch> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const batch = await openai.batches.retrieve(id);
    if (done(batch)) return batch;
    if (Date.now() > end) throw new Error(`batch ${id} still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const ended = (b: OpenAI.Batch) => ['completed', 'failed', 'cancelled', 'expired'].includes(b.status);

/** The 4xx the client threw, in OpenAI's error shape. */
async function apiError(call: Promise<unknown>): Promise<APIError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof APIError)) throw new Error(`expected an APIError, got ${String(err)}`);
  expect(Object.keys(err.error as object).sort()).toEqual(['code', 'message', 'param', 'type']);
  return err;
}

const fileIds = async () => (await openai.files.list()).data.map((f) => f.id);
const batchIds = async () => {
  const ids: string[] = [];
  for await (const b of openai.batches.list({ limit: 100 })) ids.push(b.id);
  return ids;
};
const storeDirs = async (dir: string) =>
  (await readdir(join(stack.config.dataDir, dir)).catch(() => [] as string[])).sort();

describe('OpenAI-compatible API with the official client', () => {
  it('uploads a file, runs a batch to completion and serves its output and error files', async () => {
    const lines: BatchLine[] = [
      ...chatLines(20, 'ok'),
      // The simulator refuses an empty conversation with a 400: a permanent failure, in the error file.
      {
        custom_id: 'broken',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [] },
      },
      // No model: the default applies.
      {
        custom_id: 'no-model',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { messages: [{ role: 'user', content: 'hi' }] },
      },
    ];
    const content = jsonl(lines);
    const file = await upload(content);
    expect(file).toMatchObject({
      id: expect.stringMatching(/^file-[0-9a-f]{24}$/),
      object: 'file',
      bytes: Buffer.byteLength(content),
      filename: 'input.jsonl',
      purpose: 'batch',
      status: 'processed',
    });
    expect(await openai.files.retrieve(file.id)).toEqual(file);
    expect(await (await openai.files.content(file.id)).text()).toBe(content);
    expect(await fileIds()).toContain(file.id);

    const created = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { project: 'reviews', llmbatch_priority: '2', llmbatch_mode: 'realtime' },
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^batch_[0-9a-f]{24}$/),
      object: 'batch',
      status: 'in_progress',
      endpoint: '/v1/chat/completions',
      input_file_id: file.id,
      completion_window: '24h',
      request_counts: { total: 22, completed: 0, failed: 0 },
      metadata: { project: 'reviews', llmbatch_priority: '2', llmbatch_mode: 'realtime' },
      output_file_id: null,
      error_file_id: null,
    });
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);

    const batch = await until(created.id, ended);
    expect(batch).toMatchObject({
      id: created.id,
      status: 'completed',
      request_counts: { total: 22, completed: 21, failed: 1 },
      model: 'gpt-4o-mini',
      metadata: created.metadata,
      errors: null,
    });
    expect(batch.completed_at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.in_progress_at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.usage?.input_tokens).toBeGreaterThan(0);
    expect(batch.output_file_id).toBe(`file-${created.id}_output`);
    expect(batch.error_file_id).toBe(`file-${created.id}_error`);

    const outputText = await (await openai.files.content(batch.output_file_id as string)).text();
    const output = parseLines(outputText);
    expect(output.map((l) => l.custom_id).sort()).toEqual(
      [...chatLines(20, 'ok').map((l) => l.custom_id), 'no-model'].sort(),
    );
    expect(output.every((l) => l.response?.status_code === 200 && l.error === null)).toBe(true);
    expect(output.find((l) => l.custom_id === 'no-model')?.response?.body.model).toBe(stack.config.batch.defaultModel);
    expect(await openai.files.retrieve(batch.output_file_id as string)).toMatchObject({
      object: 'file',
      purpose: 'batch_output',
      bytes: Buffer.byteLength(outputText),
      filename: `${created.id}_output.jsonl`,
    });

    const errorText = await (await openai.files.content(batch.error_file_id as string)).text();
    const errors = parseLines(errorText);
    expect(errors).toEqual([
      {
        id: expect.any(String),
        custom_id: 'broken',
        response: null,
        error: { code: expect.any(String), message: expect.any(String) },
      },
    ]);
    expect((await openai.files.retrieve(batch.error_file_id as string)).bytes).toBe(Buffer.byteLength(errorText));

    // Output files are the batch's: they cannot be deleted. Uploaded files can; the batch keeps its copy.
    expect((await apiError(openai.files.delete(batch.output_file_id as string))).status).toBe(400);
    expect(await openai.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    expect((await apiError(openai.files.retrieve(file.id))).status).toBe(404);
    expect((await apiError(openai.files.content(file.id))).status).toBe(404);
    expect(await fileIds()).not.toContain(file.id);
    expect((await openai.batches.retrieve(created.id)).status).toBe('completed');
    expect(parseLines(await (await openai.files.content(batch.output_file_id as string)).text())).toHaveLength(21);
  });

  it('lists batches newest first, paged with limit and after', async () => {
    const file = await upload(jsonl(chatLines(2, 'page')));
    const made: string[] = [];
    for (let i = 0; i < 3; i++)
      made.push(
        (
          await openai.batches.create({
            input_file_id: file.id,
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
            metadata: { n: String(i) },
          })
        ).id,
      );
    const newest = [...made].reverse();

    const first = await openai.batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(first.has_more).toBe(true);
    expect(first.data[0]?.metadata).toEqual({ n: '2' });
    const second = await first.getNextPage();
    expect(second.data[0]?.id).toBe(newest[2]);
    const again = await openai.batches.list({ limit: 2, after: newest[1] });
    expect(again.data[0]?.id).toBe(newest[2]);

    const all = await batchIds();
    expect(new Set(all).size).toBe(all.length);
    expect(all.slice(0, 3)).toEqual(newest);
    expect([...all].sort().reverse()).toEqual(all);
    for (const id of made) expect((await until(id, ended)).status).toBe('completed');

    const raw = await fetch(`${stack.base}/v1/batches?limit=101`);
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { param: string } }).error.param).toBe('limit');
  });

  it('cancels a slow batch: cancelling, then cancelled, with the finished results in the output file', async () => {
    stack.sim.configure({ latencyMedianMs: 200, latencyP99Ms: 300 });
    try {
      const total = 600;
      const file = await upload(jsonl(chatLines(total, 'slow')));
      const created = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await until(created.id, (b) => (b.request_counts?.completed ?? 0) > 0);

      const cancelling = await openai.batches.cancel(created.id);
      expect(cancelling).toMatchObject({ id: created.id, status: 'cancelling', output_file_id: null });
      expect(cancelling.cancelling_at).toEqual(expect.any(Number));

      const cancelled = await until(created.id, ended);
      expect(cancelled).toMatchObject({
        status: 'cancelled',
        cancelling_at: cancelling.cancelling_at,
        error_file_id: null,
      });
      expect(cancelled.cancelled_at).toBeGreaterThanOrEqual(cancelling.cancelling_at as number);
      const done = cancelled.request_counts?.completed ?? 0;
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(total);
      const output = parseLines(await (await openai.files.content(cancelled.output_file_id as string)).text());
      expect(output).toHaveLength(done);
      expect(new Set(output.map((l) => l.custom_id)).size).toBe(done);

      const again = await apiError(openai.batches.cancel(created.id));
      expect(again).toMatchObject({ status: 409, code: 'batch_not_cancellable' });
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }
  });

  it('answers unknown ids and routes with 404 in OpenAI error shape', async () => {
    for (const call of [
      openai.batches.retrieve('batch_000000000000000000000000'),
      openai.batches.retrieve('nope'),
      openai.batches.cancel('batch_000000000000000000000000'),
      openai.files.retrieve('file-000000000000000000000000'),
      openai.files.retrieve('file-batch_000000000000000000000000_output'),
      openai.files.content('file-000000000000000000000000'),
      openai.files.delete('file-000000000000000000000000'),
    ]) {
      expect((await apiError(call)).status).toBe(404);
    }
    const res = await fetch(`${stack.base}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });
    // The app's JSON parser fails before the /v1 router runs; the answer still has OpenAI's shape.
    const bad = await fetch(`${stack.base}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input_file_id":',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_json' },
    });
  });

  it('does not list or serve the output of a batch still running', async () => {
    stack.sim.configure({ latencyMedianMs: 200, latencyP99Ms: 300 });
    try {
      const file = await upload(jsonl(chatLines(200, 'running')));
      const created = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      expect((await apiError(openai.files.retrieve(`file-${created.id}_output`))).status).toBe(404);
      await openai.batches.cancel(created.id);
      await until(created.id, ended);
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }
  });
});

const line = (over: Record<string, unknown> = {}, id = 'a'): string =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    ...over,
  });
const good = (id: string) => line({}, id);

describe('malformed uploads: 400 naming the line and the reason, and no file', () => {
  const long = line({ body: { messages: [{ role: 'user', content: 'x'.repeat(LIMITS.maxLineBytes) }] } }, 'long');
  const cases: Array<[string, string | Buffer, number | null, string]> = [
    ['invalid JSON', `${good('a')}\n{"custom_id": "b",\n`, 2, 'invalid_json_line'],
    ['a JSON array', '[1, 2]\n', 1, 'invalid_json_line'],
    ['a JSON string', '"hello"\n', 1, 'invalid_json_line'],
    ['missing custom_id', `${good('a')}\n${good('b')}\n${line({ custom_id: undefined })}\n`, 3, 'missing_custom_id'],
    ['empty custom_id', line({ custom_id: '' }), 1, 'invalid_custom_id'],
    ['numeric custom_id', line({ custom_id: 7 }), 1, 'invalid_custom_id'],
    ['custom_id over 512 characters', line({ custom_id: 'c'.repeat(513) }), 1, 'invalid_custom_id'],
    ['duplicate custom_id', `${good('a')}\n${good('b')}\n${good('a')}\n`, 3, 'duplicate_custom_id'],
    ['duplicate long custom_id', `${good('l'.repeat(300))}\n${good('l'.repeat(300))}\n`, 2, 'duplicate_custom_id'],
    ['method GET', line({ method: 'GET' }), 1, 'invalid_method'],
    ['no method', line({ method: undefined }), 1, 'invalid_method'],
    ['unsupported url', `${good('a')}\n${line({ url: '/v1/images/generations' }, 'b')}`, 2, 'unsupported_url'],
    ['no url', line({ url: undefined }), 1, 'unsupported_url'],
    ['body a string', line({ body: 'hello' }), 1, 'invalid_body'],
    ['body an array', line({ body: [] }), 1, 'invalid_body'],
    ['no body', line({ body: undefined }), 1, 'invalid_body'],
    ['line over the size limit', `${good('a')}\n${long}\n`, 2, 'line_too_long'],
    ['line over the size limit, last and unterminated', `${good('a')}\n${good('b')}\n${long}`, 3, 'line_too_long'],
    [
      'not UTF-8',
      Buffer.concat([
        Buffer.from(`${good('a')}\n{"custom_id": "`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('", "method": "POST"}\n'),
      ]),
      2,
      'invalid_utf8',
    ],
    [
      'a bad line after blank ones (blank lines count)',
      `${good('a')}\n\n   \n${line({ method: 'PUT' }, 'b')}\n`,
      4,
      'invalid_method',
    ],
    ['an empty file', '', null, 'empty_file'],
    ['only blank lines', '\n\n  \n', null, 'empty_file'],
  ];

  it.each(cases)('%s', async (_name, content, lineNo, code) => {
    const before = await fileIds();
    const err = await apiError(upload(content));
    expect(err).toMatchObject({ status: 400, code, param: 'file', type: 'invalid_request_error' });
    if (lineNo !== null) expect(err.message).toMatch(new RegExp(`Line ${lineNo}: `));
    expect(await fileIds()).toEqual(before);
    expect(await storeDirs(join('openai-files', '.staging'))).toEqual([]);
  });

  it('accepts CRLF line ends, a byte order mark, blank lines and no final newline', async () => {
    const content = `\ufeff${good('a')}\r\n\r\n${good('b')}\r\n${good('c')}`;
    const file = await upload(content);
    expect(file.bytes).toBe(Buffer.byteLength(content));
    const batch = await until(
      (
        await openai.batches.create({
          input_file_id: file.id,
          endpoint: '/v1/chat/completions',
          completion_window: '24h',
        })
      ).id,
      ended,
    );
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
  });

  it.each([
    ['a purpose other than batch', { purpose: 'fine-tune' }, 'purpose'],
    ['no purpose', { purpose: undefined }, 'purpose'],
    ['an unknown field', { purpose: 'batch', colour: 'red' }, 'colour'],
  ])('refuses %s', async (_name, fields, param) => {
    const before = await fileIds();
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
    form.append('file', new Blob([`${good('a')}\n`]), 'input.jsonl');
    const res = await fetch(`${stack.base}/v1/files`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    expect(await fileIds()).toEqual(before);
  });

  it('refuses a purpose other than batch sent before the file, without reading the file', async () => {
    const form = new FormData();
    form.append('purpose', 'assistants');
    form.append('file', new Blob(['not even JSON']), 'input.jsonl');
    const res = await fetch(`${stack.base}/v1/files`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('purpose');
  });

  it('refuses an upload without a file', async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    const res = await fetch(`${stack.base}/v1/files`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('file');
  });
});

describe('bad batch requests: 400 or 404 naming the parameter, and no batch', () => {
  let fileId: string;
  let mixedId: string;
  beforeAll(async () => {
    fileId = (await upload(`${good('a')}\n`)).id;
    const embedding = line({ url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'x' } }, 'b');
    mixedId = (await upload(`${good('a')}\n${embedding}\n`)).id;
  });
  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

  const cases: Array<[string, () => Record<string, unknown>, number, string | null, string?]> = [
    ['a line whose url is not the endpoint', () => ({ input_file_id: mixedId }), 400, 'input_file_id', 'Line 2: '],
    ['an unsupported endpoint', () => ({ endpoint: '/v1/images/generations' }), 400, 'endpoint'],
    ['a completion window other than 24h', () => ({ completion_window: '48h' }), 400, 'completion_window'],
    ['no input file', () => ({ input_file_id: undefined }), 400, 'input_file_id'],
    ['an unknown input file', () => ({ input_file_id: 'file-000000000000000000000000' }), 404, 'input_file_id'],
    [
      'an output file as input',
      () => ({ input_file_id: 'file-batch_000000000000000000000000_output' }),
      404,
      'input_file_id',
    ],
    ['an unknown body field', () => ({ colour: 'red' }), 400, 'colour'],
    [
      'llmbatch_priority out of range',
      () => ({ metadata: { llmbatch_priority: '9' } }),
      400,
      'metadata.llmbatch_priority',
    ],
    ['an unknown llmbatch_mode', () => ({ metadata: { llmbatch_mode: 'fast' } }), 400, 'metadata.llmbatch_mode'],
    [
      'a deadline that is not a date',
      () => ({ metadata: { llmbatch_deadline: 'tomorrow' } }),
      400,
      'metadata.llmbatch_deadline',
    ],
    [
      'a deadline that has passed',
      () => ({ metadata: { llmbatch_deadline: '2020-01-01T00:00:00Z' } }),
      400,
      'metadata.llmbatch_deadline',
    ],
    [
      'an unknown llmbatch_ key',
      () => ({ metadata: { llmbatch_colour: 'x', llmbatch_deadline: inAnHour() } }),
      400,
      'metadata.llmbatch_colour',
    ],
    [
      '17 metadata keys',
      () => ({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
      400,
      'metadata',
    ],
    ['a metadata value over 512 characters', () => ({ metadata: { note: 'n'.repeat(513) } }), 400, 'metadata.note'],
  ];

  // Objects, not rows: jest passes a `done` callback in place of a row's missing last element.
  it.each(cases.map(([name, change, status, param, inMessage]) => ({ name, change, status, param, inMessage })))(
    '$name',
    async ({ change, status, param, inMessage }) => {
      const [batchesBefore, dirsBefore] = [await batchIds(), await storeDirs('batches')];
      const body = { input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', ...change() };
      const err = await apiError(openai.batches.create(body as unknown as OpenAI.BatchCreateParams));
      expect(err).toMatchObject({ status, param });
      if (inMessage) expect(err.message).toContain(inMessage);
      expect(await batchIds()).toEqual(batchesBefore);
      expect(await storeDirs('batches')).toEqual(dirsBefore);
    },
  );
});
