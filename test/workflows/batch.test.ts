/** The batch workflow on a real Temporal dev server against the simulator, driven through the openai client. */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import {
  batchWorkflowId,
  cancelSignal,
  type BatchLine,
  type BatchWorkflowInput,
  type BatchWorkflowResult,
} from '../../src/shared/contracts';
import type { BatchStore } from '../../src/storage/types';
import { batchWorkflow } from '../../src/workflows';
import { chatLines } from '../helpers/fakes';
import { testConfig, testWorker } from '../helpers/stack';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;
let sim: Simulator;

beforeAll(async () => {
  [env, bundle, sim] = await Promise.all([startDevServer(), bundleWorkflows(), startSimulator({ seed: 7 })]);
});
afterAll(async () => {
  await sim?.close();
  await env?.teardown();
});
beforeEach(() => {
  sim.configure({ errorRate: 0, hangRate: 0, latencyMedianMs: 0, latencyP99Ms: 0, apiKey: undefined, rpm: 0 });
  sim.resetStats();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Stores the lines, then runs a batch workflow over them with a worker of its own. */
interface RunOptions {
  apiKey?: string;
  concurrency?: number;
  during?: (id: string, store: BatchStore) => Promise<void>;
  input?: Partial<BatchWorkflowInput>;
  env?: NodeJS.ProcessEnv;
}

async function runBatch(lines: BatchLine[], opts: RunOptions = {}) {
  const config = await testConfig(env, sim.url, {
    OPENAI_API_KEY: opts.apiKey ?? 'sk-test',
    LLMBATCH_ITEM_CONCURRENCY: String(opts.concurrency ?? 16),
    ...opts.env,
  });
  const { worker, store } = await testWorker(env, config, bundle);
  const batchId = randomUUID();
  const manifest = await store.putInput(batchId, lines, 100);
  const input: BatchWorkflowInput = {
    batchId,
    total: manifest.total,
    chunkCount: manifest.chunkCount,
    chunkSize: manifest.chunkSize,
    maxChunksInFlight: 2,
    ...opts.input,
  };
  const run = worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchWorkflow, {
      workflowId: batchWorkflowId(batchId),
      taskQueue: config.temporal.taskQueue,
      args: [input],
    });
    await opts.during?.(batchId, store);
    return handle.result();
  });
  return { run, store, batchId };
}

describe('batchWorkflow', () => {
  it('records every item exactly once with the provider’s deterministic answer', async () => {
    const lines: BatchLine[] = [
      ...chatLines(240),
      ...Array.from({ length: 8 }, (_, i): BatchLine => ({
        custom_id: `emb-${i}`,
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: `doc ${i}`, dimensions: 8 },
      })),
      { custom_id: 'bad-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } },
      {
        custom_id: 'bad-2',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: 'not a list' },
      },
    ];
    const { run, store, batchId } = await runBatch(lines);
    const result: BatchWorkflowResult = await run;
    expect(result).toMatchObject({ status: 'completed', total: 250, succeeded: 248, failed: 2, pending: 0 });

    const results = await collect(store.streamResults(batchId));
    expect(results.map((r) => r.custom_id).sort()).toEqual(lines.map((l) => l.custom_id).sort());

    // Same body, same answer: ask the simulator directly and compare.
    const direct = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
    const byId = new Map(results.map((r) => [r.custom_id, r]));
    for (const line of [lines[0], lines[123], lines[239]] as BatchLine[]) {
      const expected = await direct.chat.completions.create(line.body as never);
      expect((byId.get(line.custom_id)?.response?.body as { choices: unknown }).choices).toEqual(expected.choices);
    }
    expect(byId.get('emb-3')?.response?.status_code).toBe(200);
    for (const bad of ['bad-1', 'bad-2']) {
      expect(byId.get(bad)).toMatchObject({ response: null, error: { code: expect.any(String) } });
      expect(sim.callsForBody(lines.find((l) => l.custom_id === bad)?.body).calls).toBe(1);
    }
  });

  it('a 5,000-item batch holds every custom_id exactly once, each the simulator’s deterministic answer', async () => {
    const lines = chatLines(5000, 'big');
    const { run, store, batchId } = await runBatch(lines, { input: { maxChunksInFlight: 8 } });
    expect(await run).toMatchObject({ status: 'completed', total: 5000, succeeded: 5000, failed: 0, pending: 0 });
    const results = await collect(store.streamResults(batchId));
    expect(results).toHaveLength(5000);
    expect(new Set(results.map((r) => r.custom_id)).size).toBe(5000);
    const direct = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
    const byId = new Map(results.map((r) => [r.custom_id, r]));
    const queue = [...lines];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let line = queue.pop(); line; line = queue.pop()) {
          const expected = await direct.chat.completions.create(line.body as never);
          expect((byId.get(line.custom_id)?.response?.body as { choices: unknown }).choices).toEqual(expected.choices);
        }
      }),
    );
  });

  it('under 10% 5xx, 5% hangs and an RPM limit every valid item succeeds; invalid ones cost a call each', async () => {
    sim.configure({ errorRate: 0.1, hangRate: 0.05, rpm: 3000 });
    const invalid: BatchLine[] = Array.from({ length: 5 }, (_, i) => ({
      custom_id: `invalid-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: i },
    }));
    const lines = [...chatLines(300, 'chaos'), ...invalid];
    const { run, store, batchId } = await runBatch(lines, {
      input: { maxAttempts: 10, maxChunksInFlight: 3 },
      env: { LLMBATCH_REQUEST_TIMEOUT_MS: '1000' },
    });
    expect(await run).toMatchObject({ status: 'completed', succeeded: 300, failed: 5, pending: 0 });
    const stats = sim.stats();
    expect(stats.faults.errors).toBeGreaterThan(0);
    expect(stats.faults.hangs).toBeGreaterThan(0);
    for (const line of invalid) expect(sim.callsForBody(line.body).calls).toBe(1);
    const results = await collect(store.streamResults(batchId));
    expect(new Set(results.map((r) => r.custom_id)).size).toBe(305);
  });

  it('retries transient provider errors until every item succeeds', async () => {
    sim.configure({ errorRate: 0.1 });
    const { run, store, batchId } = await runBatch(chatLines(60, 'flaky'));
    expect(await run).toMatchObject({ status: 'completed', succeeded: 60, failed: 0 });
    expect(sim.stats().faults.errors).toBeGreaterThan(0);
    expect(await collect(store.streamResults(batchId))).toHaveLength(60);
  });

  it('dead-letters exactly the items whose own calls failed maxAttempts times', async () => {
    sim.configure({ errorRate: 0.3 });
    const lines = chatLines(200, 'own');
    const { run, store, batchId } = await runBatch(lines, { input: { maxAttempts: 2 } });
    const result = await run;
    const failedTwice = lines.filter((l) => sim.callsForBody(l.body).faults >= 2).map((l) => l.custom_id);
    const deadLetters = (await collect(store.streamResults(batchId, 'failed'))).map((r) => r.custom_id);
    expect(failedTwice.length).toBeGreaterThan(0);
    expect(deadLetters.sort()).toEqual(failedTwice.sort());
    expect(result).toMatchObject({
      status: 'completed',
      succeeded: 200 - failedTwice.length,
      failed: failedTwice.length,
    });
  });

  it('cancel stops the batch, keeps finished results and ends cancelled', async () => {
    sim.configure({ latencyMedianMs: 300, latencyP99Ms: 400 });
    const started = await runBatch(chatLines(400, 'slow'), {
      concurrency: 2,
      during: async (id, store) => {
        // Wait until some results are recorded, then cancel.
        for (let i = 0; i < 200 && (await collect(store.streamResults(id))).length < 3; i++)
          await new Promise((r) => setTimeout(r, 100));
        await env.client.workflow.getHandle(batchWorkflowId(id)).signal(cancelSignal);
      },
    });
    const result = await started.run;
    const recorded = await collect(started.store.streamResults(started.batchId));
    expect(result.status).toBe('cancelled');
    expect(result.succeeded).toBe(recorded.length);
    expect(recorded.length).toBeGreaterThanOrEqual(3);
    expect(recorded.length).toBeLessThan(400);
    expect(result.pending).toBe(400 - recorded.length);
    expect(await started.store.getOutcome(started.batchId)).toEqual(result);
  });

  it('fails fast with ProviderAuthError when the provider rejects the key', async () => {
    sim.configure({ apiKey: 'sk-right' });
    const { run, store, batchId } = await runBatch(chatLines(50, 'auth'), { apiKey: 'sk-wrong' });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause?.cause as { type?: string }).type).toBe('ProviderAuthError');
    // The stored outcome says why, for the API to show without Temporal.
    expect(await store.getOutcome(batchId)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('provider rejected our credentials'),
    });
    // One failed call per in-flight item at most, not one per item per retry.
    expect(sim.stats().requests['/v1/chat/completions']?.['401'] ?? 0).toBeLessThanOrEqual(50);
  });
});
