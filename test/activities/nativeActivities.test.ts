/** Native mode activities and planning, with an in-memory store and a scripted Batch API. */
import { MockActivityEnvironment as BaseMockEnv } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNativeActivities, isFinalLine } from '../../src/activities/native';
import type { BatchLine, BatchOutputLine } from '../../src/shared/contracts';
import {
  planProviderBatches,
  pollDelayMs,
  PollPolicySchema,
  type ChunkEndpointStat,
  type ProviderBatchPlan,
} from '../../src/shared/native';
import { chatLines, MemoryStore } from '../helpers/fakes';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { failureOf } from '../helpers/failures';

/** Failed attempts are what these tests expect: keep the activity logger to errors. */
const quiet = new DefaultLogger('ERROR');
/** The SDK's mock environment, quiet, with `run` typed by the activity's result. */
class MockActivityEnvironment {
  private readonly env: BaseMockEnv;
  constructor(info?: ConstructorParameters<typeof BaseMockEnv>[0]) {
    this.env = new BaseMockEnv(info, { logger: quiet });
  }
  run<P extends unknown[], R>(fn: (...args: P) => Promise<R>, ...args: P): Promise<R> {
    return this.env.run<P, R, typeof fn>(fn, ...args);
  }
}

const limits = { maxLines: 50_000, maxBytes: 200 * 1024 * 1024 };
const policy = PollPolicySchema.parse({ initialMs: 30_000, maxMs: 600_000 });

async function setup(lines: BatchLine[], chunkSize = 100) {
  const store = new MemoryStore();
  const manifest = await store.putInput('b1', lines, chunkSize);
  const api = new FakeBatchApi();
  const acts = createNativeActivities({ openai: api.client, store });
  return { store, api, acts, manifest };
}

/** A memory store that counts how results reach it: by appendResult, or through writers. */
class CountingStore extends MemoryStore {
  direct = 0;
  opened = 0;
  closed = 0;
  viaWriters = 0;
  /** Reads of input chunks take longer for earlier chunks: concurrent reads finish out of order. */
  slowEarlyChunks = 0;
  failWrites = false;

  override async getChunk(batchId: string, chunk: number) {
    if (this.slowEarlyChunks) await new Promise((r) => setTimeout(r, Math.max(0, this.slowEarlyChunks - chunk)));
    return super.getChunk(batchId, chunk);
  }
  /** Writers below bypass this, so it counts only results appended one by one. */
  override async appendResult(batchId: string, chunk: number, result: BatchOutputLine) {
    this.direct += 1;
    return super.appendResult(batchId, chunk, result);
  }
  override async openResults(batchId: string, chunk: number) {
    this.opened += 1;
    const { countFailure } = await super.openResults(batchId, chunk);
    return {
      countFailure,
      append: async (r: BatchOutputLine) => {
        if (this.failWrites) throw new Error('disk full');
        this.viaWriters += 1;
        await MemoryStore.prototype.appendResult.call(this, batchId, chunk, r);
      },
      close: async (): Promise<undefined> => {
        this.closed += 1;
        return undefined;
      },
    };
  }
}

const ok = (customId: string, n = 1): BatchOutputLine => ({
  id: `batch_req_${customId}`,
  custom_id: customId,
  response: {
    status_code: 200,
    request_id: `req_${customId}`,
    body: {
      choices: [{ message: { content: `answer ${customId}` } }],
      usage: { prompt_tokens: 10 * n, completion_tokens: n },
    },
  },
  error: null,
});
const expired = (customId: string): BatchOutputLine => ({
  id: `batch_req_${customId}`,
  custom_id: customId,
  response: null,
  error: { code: 'batch_expired', message: 'expired' },
});
const rejected = (customId: string): BatchOutputLine => ({
  id: `batch_req_${customId}`,
  custom_id: customId,
  response: { status_code: 400, request_id: 'r', body: { error: { message: 'bad' } } },
  error: null,
});
const jsonl = (lines: BatchOutputLine[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const plan = (p: Partial<ProviderBatchPlan> = {}): ProviderBatchPlan => ({
  index: 0,
  endpoint: '/v1/chat/completions',
  firstChunk: 0,
  lastChunk: 0,
  lines: 0,
  bytes: 0,
  ...p,
});

describe('planProviderBatches', () => {
  const stats = (
    n: number,
    endpoint: ChunkEndpointStat['endpoint'] = '/v1/chat/completions',
    lines = 100,
    bytes = 10_000,
  ): ChunkEndpointStat[] => Array.from({ length: n }, (_, chunk) => ({ chunk, endpoint, lines, bytes }));

  it('cuts contiguous chunk ranges that fit the line limit: 1,200 items at 500 lines → 3 provider batches', () => {
    const plans = planProviderBatches(stats(12), { maxLines: 500, maxBytes: limits.maxBytes });
    expect(plans.map((p) => [p.firstChunk, p.lastChunk, p.lines])).toEqual([
      [0, 4, 500],
      [5, 9, 500],
      [10, 11, 200],
    ]);
    expect(plans.map((p) => p.index)).toEqual([0, 1, 2]);
  });

  it('120,000 items at OpenAI’s limits → 3 provider batches', () => {
    expect(planProviderBatches(stats(1200), limits)).toHaveLength(3);
  });

  it('closes a provider batch before its bytes pass the limit', () => {
    const plans = planProviderBatches(stats(10, '/v1/embeddings', 100, 40_000), {
      maxLines: 50_000,
      maxBytes: 100_000,
    });
    expect(plans.map((p) => [p.firstChunk, p.lastChunk, p.bytes])).toEqual([
      [0, 1, 80_000],
      [2, 3, 80_000],
      [4, 5, 80_000],
      [6, 7, 80_000],
      [8, 9, 80_000],
    ]);
  });

  it('gives each endpoint its own provider batches over the chunks that hold it', () => {
    const mixed: ChunkEndpointStat[] = [
      { chunk: 0, endpoint: '/v1/chat/completions', lines: 90, bytes: 1 },
      { chunk: 0, endpoint: '/v1/embeddings', lines: 10, bytes: 1 },
      { chunk: 1, endpoint: '/v1/chat/completions', lines: 100, bytes: 1 },
      { chunk: 2, endpoint: '/v1/embeddings', lines: 100, bytes: 1 },
    ];
    expect(planProviderBatches(mixed, limits).map((p) => [p.endpoint, p.firstChunk, p.lastChunk, p.lines])).toEqual([
      ['/v1/chat/completions', 0, 1, 190],
      ['/v1/embeddings', 0, 2, 110],
    ]);
  });

  it('refuses a chunk that alone exceeds the limits', () => {
    expect(() => planProviderBatches(stats(2), { maxLines: 50, maxBytes: limits.maxBytes })).toThrow(
      /chunk 0 holds 100/,
    );
  });

  it('the planning activity reads the store and fails for good on an oversized chunk', async () => {
    const { acts, manifest } = await setup(chatLines(1200));
    const plans = await new MockActivityEnvironment().run(acts.planProviderBatches, {
      batchId: 'b1',
      chunkCount: manifest.chunkCount,
      limits: { maxLines: 500, maxBytes: limits.maxBytes },
    });
    expect(plans.map((p) => p.lines)).toEqual([500, 500, 200]);
    const bytes = chatLines(500).reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)) + 1, 0);
    expect(plans[0]?.bytes).toBe(bytes);
    const err = await failureOf(
      new MockActivityEnvironment().run(acts.planProviderBatches, {
        batchId: 'b1',
        chunkCount: manifest.chunkCount,
        limits: { maxLines: 10, maxBytes: limits.maxBytes },
      }),
    );
    expect(err).toMatchObject({ type: 'NativeChunkTooLarge', nonRetryable: true });
  });
});

describe('poll backoff', () => {
  it('starts at 30 s, doubles, and stays at 10 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => pollDelayMs(policy, n) / 1000)).toEqual([
      30, 60, 120, 240, 480, 600, 600, 600,
    ]);
  });
  it('does not let a report come sooner than every 3 polls (the history budget)', () => {
    expect(PollPolicySchema.safeParse({ reportEvery: 2 }).success).toBe(false);
  });
});

describe('uploadProviderBatchInput', () => {
  it('uploads the plan’s lines of its endpoint without a result yet, as JSONL named after the workflow', async () => {
    const lines: BatchLine[] = [
      ...chatLines(8),
      { custom_id: 'emb-1', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } },
    ];
    const { store, api, acts } = await setup(lines, 5);
    await store.appendResult('b1', 0, ok('item-1'));
    await store.appendResult('b1', 1, ok('item-6'));
    const r = await new MockActivityEnvironment().run(acts.uploadProviderBatchInput, {
      batchId: 'b1',
      plan: plan({ lastChunk: 1 }),
      workflowId: 'batch-b1-pb-0',
      limits,
    });
    const file = api.files.get(r.fileId as string);
    expect(file).toMatchObject({ filename: 'batch-b1-pb-0.jsonl', purpose: 'batch' });
    const sent = (file?.content ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BatchLine);
    expect(sent.map((l) => l.custom_id)).toEqual(['item-0', 'item-2', 'item-3', 'item-4', 'item-5', 'item-7']);
    expect(sent[0]).toEqual(lines[0]);
    expect(r).toMatchObject({ lines: 6, bytes: Buffer.byteLength(file?.content ?? '') });
  });

  it('lists the lines in the store’s order though chunks are read concurrently and finish out of order', async () => {
    const store = new CountingStore();
    const lines = chatLines(300);
    const m = await store.putInput('b1', lines, 10);
    store.slowEarlyChunks = 30; // chunk 0 answers last
    const api = new FakeBatchApi();
    const acts = createNativeActivities({ openai: api.client, store });
    const r = await new MockActivityEnvironment().run(acts.uploadProviderBatchInput, {
      batchId: 'b1',
      plan: plan({ lastChunk: m.chunkCount - 1 }),
      workflowId: 'w',
      limits,
    });
    const sent = (api.files.get(r.fileId as string)?.content ?? '')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as BatchLine).custom_id);
    expect(sent).toEqual(lines.map((l) => l.custom_id));
  });

  it('sends nothing when every item has a result', async () => {
    const { store, api, acts } = await setup(chatLines(3));
    for (const l of chatLines(3)) await store.appendResult('b1', 0, ok(l.custom_id));
    const r = await new MockActivityEnvironment().run(acts.uploadProviderBatchInput, {
      batchId: 'b1',
      plan: plan(),
      workflowId: 'w',
      limits,
    });
    expect(r.fileId).toBeNull();
    expect(api.calls.upload).toBe(0);
  });
});

describe('createProviderBatch', () => {
  const input = (fileId: string, notBefore: number) => ({
    batchId: 'b1',
    workflowId: 'batch-b1-pb-0',
    fileId,
    endpoint: '/v1/chat/completions' as const,
    notBefore,
  });

  it('a retried create finds the batch its lost answer created, by metadata, and creates none', async () => {
    const { api, acts } = await setup(chatLines(1));
    // Someone else's batches, newer than ours, are paged past.
    api.addBatch({ metadata: { llmbatch_id: 'batch-other-pb-0' } });
    api.loseNextCreateAnswer = true;
    const first = new MockActivityEnvironment({ attempt: 1 }).run(
      acts.createProviderBatch,
      input('file_in', api.now()),
    );
    await expect(first).rejects.toMatchObject({ type: 'TransientProviderErrors' });
    expect(api.batches).toHaveLength(2);
    for (let i = 0; i < 150; i++) api.addBatch({ metadata: { llmbatch_id: `batch-other-${i}` } });

    const retried = await new MockActivityEnvironment({ attempt: 2 }).run(
      acts.createProviderBatch,
      input('file_in', api.now()),
    );
    expect(retried.created).toBe(false);
    expect(api.calls.create).toBe(1);
    expect(api.batches.filter((b) => b.metadata?.llmbatch_id === 'batch-b1-pb-0')).toHaveLength(1);
    expect(retried.providerBatchId).toBe(api.batches[1]?.id);
  });

  it('creates with the workflow id as metadata if none exists, stops at batches older than its file', async () => {
    const { api, acts } = await setup(chatLines(1));
    const old = api.now() - 10 * 86_400;
    for (let i = 0; i < 1000; i++) api.addBatch({ created_at: old, metadata: { llmbatch_id: `old-${i}` } });
    const r = await new MockActivityEnvironment().run(acts.createProviderBatch, input('file_in', api.now()));
    expect(r.created).toBe(true);
    expect(api.calls.listed).toBe(1);
    expect(api.batches.at(-1)).toMatchObject({
      input_file_id: 'file_in',
      endpoint: '/v1/chat/completions',
      metadata: { llmbatch_id: 'batch-b1-pb-0', llmbatch_batch: 'b1' },
    });
  });

  it('fails for good with ProviderAuthError when the key is rejected', async () => {
    const { api, acts } = await setup(chatLines(1));
    api.failWith = 401;
    const err = await failureOf(new MockActivityEnvironment().run(acts.createProviderBatch, input('f', api.now())));
    expect(err).toMatchObject({ type: 'ProviderAuthError', nonRetryable: true });
  });
});

describe('pollProviderBatch', () => {
  async function polling(status: string, counts = { total: 10, completed: 2, failed: 0 }) {
    const { api, acts } = await setup(chatLines(1));
    const b = api.addBatch({ status: status as never, request_counts: counts });
    return { api, acts, id: b.id };
  }
  const pollInput = (id: string, extra: object = {}) => ({
    providerBatchId: id,
    policy,
    rampPolls: 0,
    deferFirst: false,
    last: null,
    ...extra,
  });

  it('a batch still running fails the attempt retryably, with the backoff as the wait', async () => {
    const { api, acts, id } = await polling('in_progress');
    const err = await failureOf(
      new MockActivityEnvironment({ attempt: 1 }).run(acts.pollProviderBatch, pollInput(id, { rampPolls: 4 })),
    );
    // Benign: logged at debug level, not as a warning per poll.
    expect(err).toMatchObject({ type: 'ProviderBatchPending', nonRetryable: false, category: 'BENIGN' });
    expect(err.nextRetryDelay).toBe(pollDelayMs(policy, 5));
    expect(err.message).toMatch(/in_progress: 2 of 10 done/);
    expect(api.calls.retrieve).toBe(1);
  });

  it('reports a change only after reportEvery polls, and a terminal status at once', async () => {
    const { acts, id, api } = await polling('in_progress');
    await expect(
      new MockActivityEnvironment({ attempt: 2 }).run(acts.pollProviderBatch, pollInput(id)),
    ).rejects.toMatchObject({ type: 'ProviderBatchPending' });
    const report = await new MockActivityEnvironment({ attempt: 3 }).run(acts.pollProviderBatch, pollInput(id));
    expect(report).toMatchObject({
      status: 'in_progress',
      polls: 3,
      requestCounts: { total: 10, completed: 2, failed: 0 },
    });
    // Unchanged since the last report: keep waiting, however many polls.
    const same = { status: 'in_progress', completed: 2, failed: 0 };
    await expect(
      new MockActivityEnvironment({ attempt: 9 }).run(acts.pollProviderBatch, pollInput(id, { last: same })),
    ).rejects.toMatchObject({ type: 'ProviderBatchPending' });
    api.onRetrieve = (b) => {
      Object.assign(b, {
        status: 'completed',
        output_file_id: 'file_out',
        request_counts: { total: 10, completed: 10, failed: 0 },
      });
    };
    const done = await new MockActivityEnvironment({ attempt: 1 }).run(
      acts.pollProviderBatch,
      pollInput(id, { last: same }),
    );
    expect(done).toMatchObject({ status: 'completed', outputFileId: 'file_out', errorFileId: null, polls: 1 });
  });

  it('after a report, the first attempt waits its turn without calling the provider', async () => {
    const { acts, id, api } = await polling('in_progress');
    const err = await failureOf(
      new MockActivityEnvironment({ attempt: 1 }).run(
        acts.pollProviderBatch,
        pollInput(id, { deferFirst: true, rampPolls: 6 }),
      ),
    );
    expect(err.nextRetryDelay).toBe(pollDelayMs(policy, 6));
    expect(api.calls.retrieve).toBe(0);
    // Its third attempt is only the second poll: not yet a report.
    await expect(
      new MockActivityEnvironment({ attempt: 3 }).run(acts.pollProviderBatch, pollInput(id, { deferFirst: true })),
    ).rejects.toMatchObject({ type: 'ProviderBatchPending' });
    await expect(
      new MockActivityEnvironment({ attempt: 4 }).run(acts.pollProviderBatch, pollInput(id, { deferFirst: true })),
    ).resolves.toMatchObject({ polls: 3 });
  });

  it('a failed batch reports the provider’s first error', async () => {
    const { acts, id, api } = await polling('failed');
    api.batches[0]!.errors = {
      object: 'list',
      data: [{ code: 'too_many_requests', message: 'too many lines', line: null, param: null }],
    };
    await expect(new MockActivityEnvironment().run(acts.pollProviderBatch, pollInput(id))).resolves.toMatchObject({
      status: 'failed',
      error: 'too many lines',
    });
  });
});

describe('cancelProviderBatch', () => {
  it('cancels a running batch and leaves a finished one as it is', async () => {
    const { api, acts } = await setup(chatLines(1));
    const running = api.addBatch({ status: 'in_progress' });
    const finished = api.addBatch({ status: 'completed' });
    await expect(
      new MockActivityEnvironment().run(acts.cancelProviderBatch, { providerBatchId: running.id }),
    ).resolves.toEqual({ status: 'cancelling' });
    await expect(
      new MockActivityEnvironment().run(acts.cancelProviderBatch, { providerBatchId: finished.id }),
    ).resolves.toEqual({ status: 'completed' });
  });
});

describe('collectProviderBatch', () => {
  const lines: BatchLine[] = [
    ...chatLines(10),
    { custom_id: 'emb-0', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } },
  ];

  async function collecting() {
    const s = await setup(lines, 4);
    // Out of order, across three chunks; one line of another batch; an error file with a 400 and expired lines.
    const out = s.api.addFile(jsonl([ok('item-9', 2), ok('item-0'), ok('item-5'), ok('stranger'), ok('item-3')]));
    const errs = s.api.addFile(jsonl([expired('item-7'), rejected('item-1'), expired('item-8')]));
    const input = {
      batchId: 'b1',
      plan: plan({ lastChunk: 2 }),
      outputFileId: out.id,
      errorFileId: errs.id,
      recordRetryable: false,
    };
    return { ...s, input };
  }
  const rawCount = (store: MemoryStore) => [...store.results.values()].reduce((n, list) => n + list.length, 0);

  it('maps each line to the chunk holding its custom_id; keeps expired items pending for the next round', async () => {
    const { store, acts, input } = await collecting();
    const summary = await new MockActivityEnvironment().run(acts.collectProviderBatch, input);
    // 10 chat items: 4 answers + one 400 recorded; 2 expired and 3 absent (never processed) remain.
    expect(summary).toEqual({ succeeded: 4, failed: 1, tokensIn: 50, tokensOut: 5, remaining: 5 });
    expect([...(await store.getChunkResults('b1', 0)).keys()].sort()).toEqual(['item-0', 'item-1', 'item-3']);
    expect([...(await store.getChunkResults('b1', 1)).keys()]).toEqual(['item-5']);
    expect([...(await store.getChunkResults('b1', 2)).keys()]).toEqual(['item-9']);
    expect((await store.getChunkResults('b1', 0)).get('item-0')).toEqual(ok('item-0'));
  });

  it('a retried collection records nothing twice', async () => {
    const { store, acts, input } = await collecting();
    await new MockActivityEnvironment().run(acts.collectProviderBatch, input);
    const written = rawCount(store);
    await new MockActivityEnvironment({ attempt: 2 }).run(acts.collectProviderBatch, input);
    expect(rawCount(store)).toBe(written);
  });

  it('on the final round, expired lines are recorded as they are', async () => {
    const { store, acts, input } = await collecting();
    const summary = await new MockActivityEnvironment().run(acts.collectProviderBatch, {
      ...input,
      recordRetryable: true,
    });
    expect(summary).toMatchObject({ succeeded: 4, failed: 3, remaining: 3 });
    expect((await store.getChunkResults('b1', 1)).get('item-7')?.error).toEqual({
      code: 'batch_expired',
      message: 'expired',
    });
  });

  it('writes through one writer per chunk per flush, not an append per line, whatever the lines’ order', async () => {
    const store = new CountingStore();
    const items = chatLines(12_000);
    await store.putInput('b1', items, 100);
    const api = new FakeBatchApi();
    // Shuffled (deterministically): every flush touches every chunk.
    const order = items.map((l, i) => ({ l, k: (i * 7919) % items.length })).sort((a, b) => a.k - b.k);
    const out = api.addFile(jsonl(order.map(({ l }) => ok(l.custom_id))));
    const acts = createNativeActivities({ openai: api.client, store });
    const summary = await new MockActivityEnvironment().run(acts.collectProviderBatch, {
      batchId: 'b1',
      plan: plan({ lastChunk: 119 }),
      outputFileId: out.id,
      errorFileId: null,
      recordRetryable: false,
    });
    expect(summary).toMatchObject({ succeeded: 12_000, failed: 0, remaining: 0, tokensIn: 120_000, tokensOut: 12_000 });
    expect(store.viaWriters).toBe(12_000);
    expect(store.direct).toBe(0);
    // 12,000 lines flush at 5,000 and 10,000 lines and at the end, at most 120 chunks each time, plus a flush each
    // second the collection takes (on a loaded CI machine: 694 writers seen): far from one append per line.
    expect(store.opened).toBeLessThanOrEqual(12_000 / 10);
    expect(store.closed).toBe(store.opened);
    for (let c = 0; c < 120; c++) expect((await store.getChunkResults('b1', c)).size).toBe(100);
  });

  it('a failed write fails the collection, which a retry redoes, and closes its writers', async () => {
    const store = new CountingStore();
    await store.putInput('b1', lines, 4);
    const api = new FakeBatchApi();
    const out = api.addFile(jsonl([ok('item-0'), ok('item-5'), ok('item-9')]));
    const acts = createNativeActivities({ openai: api.client, store });
    const input = {
      batchId: 'b1',
      plan: plan({ lastChunk: 2 }),
      outputFileId: out.id,
      errorFileId: null,
      recordRetryable: false,
    };
    store.failWrites = true;
    await expect(new MockActivityEnvironment().run(acts.collectProviderBatch, input)).rejects.toThrow('disk full');
    expect(store.opened).toBeGreaterThan(0);
    expect(store.closed).toBe(store.opened);
    store.failWrites = false;
    await expect(
      new MockActivityEnvironment({ attempt: 2 }).run(acts.collectProviderBatch, input),
    ).resolves.toMatchObject({ succeeded: 3, remaining: 7 });
  });

  it('recordUnfinished turns what is left into dead letters', async () => {
    const { store, acts, input } = await collecting();
    await new MockActivityEnvironment().run(acts.collectProviderBatch, input);
    const summary = await new MockActivityEnvironment().run(acts.recordUnfinished, {
      batchId: 'b1',
      plan: input.plan,
      code: 'provider_batch_exhausted',
      message: 'gave up',
    });
    expect(summary).toMatchObject({ succeeded: 4, failed: 6, remaining: 0 });
    expect((await store.getChunkResults('b1', 1)).get('item-6')).toEqual({
      id: 'b1:item-6',
      custom_id: 'item-6',
      response: null,
      error: { code: 'provider_batch_exhausted', message: 'gave up' },
    });
    // The embeddings line belongs to another plan and is untouched.
    expect((await store.getChunkResults('b1', 2)).has('emb-0')).toBe(false);
  });
});

describe('realtime fallback', () => {
  it('copies the items without a result into a batch of their own and merges its results back', async () => {
    const { store, acts } = await setup(chatLines(10), 4);
    await store.appendResult('b1', 0, ok('item-0'));
    await store.appendResult('b1', 2, ok('item-9'));
    const p = plan({ lastChunk: 2 });
    const m = await new MockActivityEnvironment().run(acts.prepareRealtimeFallback, {
      batchId: 'b1',
      plan: p,
      fallbackBatchId: 'b1-pb-0-rt',
      chunkSize: 3,
    });
    expect(m).toEqual({ total: 8, chunkCount: 3, chunkSize: 3 });
    // Idempotent: a retry after success changes nothing.
    await expect(
      new MockActivityEnvironment().run(acts.prepareRealtimeFallback, {
        batchId: 'b1',
        plan: p,
        fallbackBatchId: 'b1-pb-0-rt',
        chunkSize: 3,
      }),
    ).resolves.toEqual(m);
    const moved = (await Promise.all([0, 1, 2].map((c) => store.getChunk('b1-pb-0-rt', c))))
      .flat()
      .map((l) => l.custom_id);
    expect(moved).toEqual(['item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'item-6', 'item-7', 'item-8']);
    for (const [i, id] of moved.entries()) await store.appendResult('b1-pb-0-rt', Math.floor(i / 3), ok(id));
    const summary = await new MockActivityEnvironment().run(acts.mergeRealtimeFallback, {
      batchId: 'b1',
      plan: p,
      fallbackBatchId: 'b1-pb-0-rt',
    });
    expect(summary).toMatchObject({ succeeded: 10, failed: 0, remaining: 0 });
    expect([...(await store.getChunkResults('b1', 1)).keys()].sort()).toEqual(['item-4', 'item-5', 'item-6', 'item-7']);
  });
});

describe('isFinalLine', () => {
  it('answers and refusals are final; expiry, cancellation, 5xx and 429 are not', () => {
    expect(isFinalLine(ok('a'))).toBe(true);
    expect(isFinalLine(rejected('a'))).toBe(true);
    expect(isFinalLine(expired('a'))).toBe(false);
    expect(isFinalLine({ ...rejected('a'), response: { status_code: 500, request_id: 'r', body: {} } })).toBe(false);
    expect(isFinalLine({ ...rejected('a'), response: { status_code: 429, request_id: 'r', body: {} } })).toBe(false);
  });
});
