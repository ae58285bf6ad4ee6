/**
 * The worker's metrics as the activities record them: items by outcome (once per recorded result), provider
 * requests by status class, 429s, tokens, cost, chunk attempts and retries, native polls and finished batches.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createNativeActivities } from '../../src/activities/native';
import { createWorkerMetrics, type PromWorkerMetrics } from '../../src/metrics/workerMetrics';
import type { BatchOutputLine, BatchProgress, ModelPrice } from '../../src/shared/contracts';
import { FailureType } from '../../src/shared/failures';
import { PollPolicySchema } from '../../src/shared/native';
import { FileResponseCache } from '../../src/storage/fileCache';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { chatLines, fakeOpenAI, MemoryStore, type FakeAnswer } from '../helpers/fakes';
import { failureOf } from '../helpers/failures';

const PRICE: ModelPrice = { input: 0.15, output: 0.6, batchDiscount: 0.5 };
const CHAT = { tenant: 'acme', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions', mode: 'realtime' };
const quiet = new DefaultLogger('ERROR');
const env = (attempt = 1) =>
  new MockActivityEnvironment(
    { attempt, taskQueue: 'llmbatch', currentAttemptScheduledTimestampMs: Date.now() - 250 },
    { logger: quiet },
  );

const ok = (body: Record<string, unknown>): FakeAnswer => ({
  status: 200,
  body: { echo: body.messages, usage: { prompt_tokens: 10, completion_tokens: 2 } },
});
const about = (text: string) => (body: Record<string, unknown>) => JSON.stringify(body).includes(text);

/** The value of one series (0 when it was never incremented). */
async function value(m: PromWorkerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.filter(
    (v) =>
      (v as { metricName?: string }).metricName === undefined &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return match.reduce((sum, v) => sum + v.value, 0);
}

/** A histogram's observation count. */
async function observations(m: PromWorkerMetrics, name: string, labels: Record<string, string> = {}) {
  const { values } = await m.registry.getSingleMetric(name)!.get();
  return values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_count`)
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function setup(n: number, answer: (body: Record<string, unknown>, call: number) => FakeAnswer) {
  const store = new MemoryStore();
  await store.putInput('b1', chatLines(n), 100);
  const fake = fakeOpenAI(answer);
  const metrics = createWorkerMetrics();
  const config = { itemConcurrency: 4, requestConcurrency: 64 };
  const acts = createActivities({ openai: fake.client, store, config, metrics });
  const input = { batchId: 'b1', chunk: 0, maxAttempts: 2, tenant: 'acme', price: PRICE };
  return { store, fake, acts, metrics, input };
}

describe('worker metrics of the chunk activity', () => {
  it('counts successes, their requests, tokens and cost, and the chunk attempt', async () => {
    const { acts, metrics: m, input } = await setup(10, ok);
    await env().run(acts.processChunk, input);
    expect(await value(m, 'llmbatch_items_total', { ...CHAT, outcome: 'succeeded', error_code: '' })).toBe(10);
    expect(await value(m, 'llmbatch_items_total')).toBe(10);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '2xx', model: 'gpt-4o-mini' })).toBe(10);
    expect(await value(m, 'llmbatch_provider_requests_total')).toBe(10);
    expect(await value(m, 'llmbatch_tokens_total', { ...CHAT, direction: 'input' })).toBe(100);
    expect(await value(m, 'llmbatch_tokens_total', { ...CHAT, direction: 'output' })).toBe(20);
    expect(await value(m, 'llmbatch_cost_usd_total', { tenant: 'acme', mode: 'realtime' })).toBeCloseTo(
      (100 * 0.15 + 20 * 0.6) / 1e6,
      12,
    );
    expect(await observations(m, 'llmbatch_provider_request_duration_seconds')).toBe(10);
    expect(await value(m, 'llmbatch_chunk_attempts_total', { tenant: 'acme', outcome: 'completed' })).toBe(1);
    expect(await observations(m, 'llmbatch_chunk_duration_seconds', { outcome: 'completed' })).toBe(1);
    expect(await observations(m, 'llmbatch_chunk_schedule_to_start_seconds', { task_queue: 'llmbatch' })).toBe(1);
    const queued = await m.registry.getSingleMetric('llmbatch_chunk_schedule_to_start_seconds')!.get();
    const sum = queued.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'));
    expect(sum?.value).toBeGreaterThanOrEqual(0.25);
    expect(await value(m, 'llmbatch_chunk_retries_total')).toBe(0);
    expect(await value(m, 'llmbatch_provider_requests_in_flight')).toBe(0);
    expect(await value(m, 'llmbatch_chunks_in_flight')).toBe(0);
  });

  it('counts a permanent 400 as failed by its error code, and its request as 4xx', async () => {
    const {
      acts,
      metrics: m,
      input,
    } = await setup(5, (body) => (about('hello 2')(body) ? { status: 400, error: 'bad body' } : ok(body)));
    await env().run(acts.processChunk, input);
    expect(await value(m, 'llmbatch_items_total', { outcome: 'failed', error_code: 'invalid_value' })).toBe(1);
    expect(await value(m, 'llmbatch_items_total', { outcome: 'succeeded' })).toBe(4);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '4xx' })).toBe(1);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '2xx' })).toBe(4);
    expect(await value(m, 'llmbatch_provider_rate_limited_total')).toBe(0);
    expect(await value(m, 'llmbatch_tokens_total', { direction: 'input' })).toBe(40);
  });

  it('counts each 429 as rate limited and the item once when it then succeeds', async () => {
    const {
      acts,
      fake,
      metrics: m,
      input,
    } = await setup(5, (body, call) =>
      about('hello 2')(body) && call <= 3
        ? { status: 429, error: 'slow down', headers: { 'retry-after-ms': '30' } }
        : ok(body),
    );
    await env().run(acts.processChunk, input);
    const limited = fake.calls.length - 5;
    expect(limited).toBeGreaterThanOrEqual(1);
    expect(await value(m, 'llmbatch_provider_rate_limited_total', { model: 'gpt-4o-mini' })).toBe(limited);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '4xx' })).toBe(limited);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '2xx' })).toBe(5);
    expect(await value(m, 'llmbatch_items_total', { outcome: 'succeeded' })).toBe(5);
    expect(await value(m, 'llmbatch_items_total')).toBe(5);
  });

  it('counts a retry, then the dead letter once its attempts are exhausted', async () => {
    const {
      acts,
      metrics: m,
      input,
    } = await setup(3, (body) => (about('hello 0')(body) ? { status: 500, error: 'boom' } : ok(body)));
    const failure = await failureOf(env(1).run(acts.processChunk, input));
    expect(failure.type).toBe(FailureType.TransientProviderErrors);
    expect(await value(m, 'llmbatch_chunk_attempts_total', { outcome: 'retry' })).toBe(1);
    expect(await value(m, 'llmbatch_items_total')).toBe(2); // the pending item is not counted yet

    await env(2).run(acts.processChunk, input);
    expect(await value(m, 'llmbatch_items_total', { outcome: 'dead_lettered', error_code: 'retries_exhausted' })).toBe(
      1,
    );
    expect(await value(m, 'llmbatch_items_total', { outcome: 'succeeded' })).toBe(2);
    expect(await value(m, 'llmbatch_provider_requests_total', { status_class: '5xx' })).toBe(2);
    expect(await value(m, 'llmbatch_chunk_retries_total', { tenant: 'acme' })).toBe(1);
    expect(await value(m, 'llmbatch_chunk_attempts_total', { outcome: 'completed' })).toBe(1);
    expect(await observations(m, 'llmbatch_chunk_duration_seconds')).toBe(2);
  });

  it('counts a transport error as status class error, and a 401 attempt as failed', async () => {
    const timeout = await setup(2, (body) => (about('hello 1')(body) ? 'timeout' : ok(body)));
    await failureOf(env().run(timeout.acts.processChunk, timeout.input));
    expect(await value(timeout.metrics, 'llmbatch_provider_requests_total', { status_class: 'error' })).toBe(1);

    const auth = await setup(2, () => ({ status: 401, error: 'bad key' }));
    const failure = await failureOf(env().run(auth.acts.processChunk, auth.input));
    expect(failure.type).toBe(FailureType.ProviderAuthError);
    expect(await value(auth.metrics, 'llmbatch_chunk_attempts_total', { outcome: 'failed' })).toBe(1);
    expect(await value(auth.metrics, 'llmbatch_items_total')).toBe(0);
  });

  it('counts a cache hit as a succeeded item and a hit, with no tokens and no request', async () => {
    const store = new MemoryStore();
    await store.putInput('b1', chatLines(2), 100);
    await store.putInput('b2', chatLines(2), 100);
    const cache = new FileResponseCache(await mkdtemp(join(tmpdir(), 'llmbatch-metrics-')));
    const metrics = createWorkerMetrics();
    const acts = createActivities({
      openai: fakeOpenAI(ok).client,
      store,
      config: { itemConcurrency: 4, requestConcurrency: 8 },
      responseCache: { cache, ttlMs: 3_600_000 },
      metrics,
    });
    const input = { chunk: 0, maxAttempts: 2, tenant: 'acme', price: PRICE, cache: true };
    await env().run(acts.processChunk, { ...input, batchId: 'b1' });
    await env().run(acts.processChunk, { ...input, batchId: 'b2' });
    expect(await value(metrics, 'llmbatch_cache_hits_total', { tenant: 'acme', model: 'gpt-4o-mini' })).toBe(2);
    expect(await value(metrics, 'llmbatch_items_total', { outcome: 'succeeded' })).toBe(4);
    expect(await value(metrics, 'llmbatch_provider_requests_total')).toBe(2);
    expect(await value(metrics, 'llmbatch_tokens_total', { direction: 'input' })).toBe(20);
  });
});

describe('worker metrics of finishBatch and native polls', () => {
  const progress = (batchId: string, status: BatchProgress['status']) =>
    ({ batchId, status, mode: 'realtime', total: 0 }) as BatchProgress;

  it('counts a finished batch by tenant, mode and status, not a native batch`s realtime fallback', async () => {
    const metrics = createWorkerMetrics();
    const acts = createActivities({
      openai: fakeOpenAI(ok).client,
      store: new MemoryStore(),
      config: { itemConcurrency: 1, requestConcurrency: 1 },
      metrics,
    });
    const finish = { chunkCount: 0, recount: false, tenant: 'acme' };
    await env().run(acts.finishBatch, { ...finish, progress: progress('b1', 'completed') });
    await env().run(acts.finishBatch, { ...finish, progress: progress('b2-pb-0-rt', 'completed') });
    await env().run(acts.finishBatch, { ...finish, progress: progress('b3', 'cancelled') });
    const finished = 'llmbatch_batches_finished_total';
    expect(await value(metrics, finished, { tenant: 'acme', mode: 'realtime', status: 'completed' })).toBe(1);
    expect(await value(metrics, finished, { status: 'cancelled' })).toBe(1);
  });

  it('counts polls by status, and a terminal provider batch with its time at the provider', async () => {
    const api = new FakeBatchApi();
    const metrics = createWorkerMetrics();
    const acts = createNativeActivities({ openai: api.client, store: new MemoryStore(), metrics });
    const b = api.addBatch({ status: 'in_progress', created_at: api.now() - 600 });
    const poll = {
      providerBatchId: b.id,
      policy: PollPolicySchema.parse({ initialMs: 30_000, maxMs: 600_000 }),
      rampPolls: 0,
      deferFirst: false,
      last: null,
    };
    await failureOf(env(1).run(acts.pollProviderBatch, poll));
    Object.assign(b, { status: 'completed', completed_at: b.created_at + 600 });
    await env(2).run(acts.pollProviderBatch, poll);
    api.failWith = 500;
    await failureOf(env(3).run(acts.pollProviderBatch, poll));
    expect(await value(metrics, 'llmbatch_native_polls_total', { status: 'in_progress' })).toBe(1);
    expect(await value(metrics, 'llmbatch_native_polls_total', { status: 'completed' })).toBe(1);
    expect(await value(metrics, 'llmbatch_native_polls_total', { status: 'error' })).toBe(1);
    expect(await value(metrics, 'llmbatch_native_provider_batches_total', { status: 'completed' })).toBe(1);
    expect(await observations(metrics, 'llmbatch_native_time_in_provider_seconds')).toBe(1);
    const { values } = await metrics.registry.getSingleMetric('llmbatch_native_time_in_provider_seconds')!.get();
    expect(values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value).toBe(600);
  });

  it('counts a native collection once stored: answers, failures, dead letters, tokens, cost', async () => {
    const store = new MemoryStore();
    await store.putInput('b1', chatLines(6), 100);
    const api = new FakeBatchApi();
    const metrics = createWorkerMetrics();
    const acts = createNativeActivities({ openai: api.client, store, metrics });
    const answer = (customId: string): BatchOutputLine => ({
      id: `r_${customId}`,
      custom_id: customId,
      response: { status_code: 200, request_id: 'r', body: { usage: { prompt_tokens: 10, completion_tokens: 2 } } },
      error: null,
    });
    const error = (customId: string, code: string): BatchOutputLine => ({
      id: `r_${customId}`,
      custom_id: customId,
      response: null,
      error: { code, message: code },
    });
    const jsonl = (lines: BatchOutputLine[]) => lines.map((l) => JSON.stringify(l)).join('\n');
    const out = api.addFile(jsonl([answer('item-0'), answer('item-1'), answer('stranger')]));
    const errs = api.addFile(jsonl([error('item-2', 'invalid_value'), error('item-3', 'batch_expired')]));
    const plan = {
      index: 0,
      endpoint: '/v1/chat/completions' as const,
      firstChunk: 0,
      lastChunk: 0,
      lines: 6,
      bytes: 0,
    };
    const collect = { batchId: 'b1', plan, outputFileId: out.id, errorFileId: errs.id, tenant: 'acme', price: PRICE };
    await env().run(acts.collectProviderBatch, { ...collect, recordRetryable: true });
    await env(2).run(acts.collectProviderBatch, { ...collect, recordRetryable: true }); // a retry records nothing
    await env().run(acts.recordUnfinished, {
      batchId: 'b1',
      plan,
      code: 'provider_batch_exhausted',
      message: 'm',
      tenant: 'acme',
    });
    const native = { tenant: 'acme', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions', mode: 'native' };
    const items = (outcome: string, error_code: string) =>
      value(metrics, 'llmbatch_items_total', { ...native, outcome, error_code });
    expect(await items('succeeded', '')).toBe(2);
    expect(await items('failed', 'invalid_value')).toBe(1);
    expect(await items('dead_lettered', 'batch_expired')).toBe(1);
    expect(await items('dead_lettered', 'provider_batch_exhausted')).toBe(2);
    expect(await value(metrics, 'llmbatch_items_total')).toBe(6);
    expect(await value(metrics, 'llmbatch_tokens_total', { ...native, direction: 'input' })).toBe(20);
    expect(await value(metrics, 'llmbatch_cost_usd_total', { tenant: 'acme', mode: 'native' })).toBeCloseTo(
      ((20 * 0.15 + 4 * 0.6) / 1e6) * 0.5,
      12,
    );
  });
});
