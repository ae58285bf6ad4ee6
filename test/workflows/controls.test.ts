/**
 * Signals and long-run behaviour of the batch workflow on a real
 * dev server: pause/resume, concurrency, priority, continue-as-new.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import type { Config } from '../../src/config';
import { startSimulator, type Simulator } from '../../src/provider';
import {
  batchWorkflowId,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setConcurrencySignal,
  type BatchProgress,
  type BatchWorkflowInput,
} from '../../src/shared/contracts';
import type { BatchStore } from '../../src/storage/types';
import { chatLines } from '../helpers/fakes';
import { testConfig, testWorker } from '../helpers/stack';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;
let sim: Simulator;

beforeAll(async () => {
  [env, bundle, sim] = await Promise.all([startDevServer(), bundleWorkflows(), startSimulator({ seed: 3 })]);
});
afterAll(async () => {
  await sim?.close();
  await env?.teardown();
});
beforeEach(() => {
  sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0, errorRate: 0 });
  sim.resetStats();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

async function countResults(store: BatchStore, batchId: string): Promise<{ lines: number; distinct: number }> {
  const ids: string[] = [];
  for await (const r of store.streamResults(batchId)) ids.push(r.custom_id);
  return { lines: ids.length, distinct: new Set(ids).size };
}

interface Started {
  batchId: string;
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
  progress: () => Promise<BatchProgress>;
}

async function startBatch(
  config: Config,
  store: BatchStore,
  items: number,
  extra: Partial<BatchWorkflowInput> = {},
  chunkSize = 100,
): Promise<Started> {
  const batchId = randomUUID();
  const manifest = await store.putInput(batchId, chatLines(items, batchId.slice(0, 8)), chunkSize);
  const input: BatchWorkflowInput = {
    batchId,
    total: manifest.total,
    chunkCount: manifest.chunkCount,
    chunkSize,
    maxChunksInFlight: 4,
    ...extra,
  };
  const handle = await env.client.workflow.start('batchWorkflow', {
    workflowId: batchWorkflowId(batchId),
    taskQueue: config.temporal.taskQueue,
    args: [input],
  });
  return { batchId, handle, progress: () => handle.query(progressQuery) };
}

async function withWorker<T>(
  extraEnv: NodeJS.ProcessEnv,
  fn: (config: Config, store: BatchStore) => Promise<T>,
): Promise<T> {
  const config = await testConfig(env, sim.url, extraEnv);
  const { worker, store } = await testWorker(env, config, bundle);
  return worker.runUntil(fn(config, store));
}

describe('batch controls', () => {
  it('pause stops provider calls within 2 s; resume finishes every item exactly once', async () => {
    sim.configure({ latencyMedianMs: 100, latencyP99Ms: 150 });
    await withWorker({ LLMBATCH_ITEM_CONCURRENCY: '8' }, async (_config, store) => {
      const b = await startBatch(_config, store, 1500);
      await until(async () => (await b.progress()).succeeded >= 100);
      await b.handle.signal(pauseSignal);
      expect((await b.progress()).status).toBe('paused');

      await sleep(2000); // calls stop within 2 s of the pause...
      const afterPause = sim.stats().total;
      await sleep(2000); // ...and none are made after that
      expect(sim.stats().total).toBe(afterPause);
      const paused = await b.progress();
      expect(paused).toMatchObject({ status: 'paused', chunksInFlight: 0 });
      expect(paused.succeeded).toBeLessThan(1500);

      await b.handle.signal(resumeSignal);
      const result = (await b.handle.result()) as BatchProgress;
      expect(result).toMatchObject({ status: 'completed', succeeded: 1500, failed: 0, pending: 0 });
      expect(result.tokensIn).toBeGreaterThan(0);
      expect(await countResults(store, b.batchId)).toEqual({ lines: 1500, distinct: 1500 });
      // A request the provider answers just as its chunk is cancelled is sent again on resume:
      // at most the requests in flight at the pause (4 chunks × 8 items).
      expect(sim.stats().bodies.duplicateSuccesses).toBeLessThanOrEqual(4 * 8);
    });
  });

  it('pausing while every call fails pauses the batch (it does not fail), and resume finishes it', async () => {
    // Each chunk attempt fails on its items' 500s; one that ends in that failure after the pause asked it to stop
    // (Temporal retries no activity asked to cancel) is a stopped chunk, run again on resume.
    // Attempts of 0.6 s between 2 s backoffs, 16 chunks at once: at any moment some attempt is under way, and it ends
    // (failing) before the pause's cancellation reaches it through a heartbeat.
    sim.configure({ latencyMedianMs: 600, latencyP99Ms: 700, errorRate: 1 });
    await withWorker({ LLMBATCH_ITEM_CONCURRENCY: '10' }, async (config, store) => {
      const b = await startBatch(config, store, 400, { maxAttempts: 20, maxChunksInFlight: 16 }, 10);
      await until(async () => sim.stats().total >= 200);
      await b.handle.signal(pauseSignal);
      await until(async () => (await b.progress()).chunksInFlight === 0);
      await sleep(1000);
      const paused = await b.progress();
      expect(paused).toMatchObject({ status: 'paused', succeeded: 0, failed: 0 });

      sim.configure({ errorRate: 0 });
      await b.handle.signal(resumeSignal);
      expect(await b.handle.result()).toMatchObject({ status: 'completed', succeeded: 400, failed: 0 });
    });
  });

  it('setConcurrency changes how many chunks run at once', async () => {
    sim.configure({ latencyMedianMs: 50, latencyP99Ms: 80 });
    await withWorker({ LLMBATCH_ITEM_CONCURRENCY: '4' }, async (config, store) => {
      const b = await startBatch(config, store, 800, { maxChunksInFlight: 6 }, 20);
      await until(async () => (await b.progress()).chunksInFlight >= 4);
      await b.handle.signal(setConcurrencySignal, 1);
      await until(async () => (await b.progress()).chunksInFlight <= 1);
      for (let i = 0; i < 10; i++) {
        const p = await b.progress();
        expect(p.maxChunksInFlight).toBe(1);
        expect(p.chunksInFlight).toBeLessThanOrEqual(1);
        await sleep(100);
      }
      await b.handle.signal(setConcurrencySignal, 8);
      expect(await b.handle.result()).toMatchObject({ status: 'completed', succeeded: 800 });
    });
  });

  it('dispatches a priority-1 batch ahead of a saturating priority-5 batch', async () => {
    sim.configure({ latencyMedianMs: 100, latencyP99Ms: 120 });
    // One activity slot: every chunk waits in the task queue, where priority decides the order.
    await withWorker(
      { LLMBATCH_MAX_CONCURRENT_ACTIVITIES: '1', LLMBATCH_ITEM_CONCURRENCY: '10' },
      async (config, store) => {
        const low = await startBatch(config, store, 400, { priority: 5, maxChunksInFlight: 40 }, 10);
        await until(async () => (await low.progress()).succeeded >= 10);
        const high = await startBatch(config, store, 30, { priority: 1, maxChunksInFlight: 3 }, 10);
        expect(await high.handle.result()).toMatchObject({ status: 'completed', succeeded: 30 });
        const lowWhenHighDone = await low.progress();
        expect(lowWhenHighDone.pending).toBeGreaterThan(200);
        expect(await low.handle.result()).toMatchObject({ status: 'completed', succeeded: 400 });
      },
    );
  });

  it('continues as new when history grows, carrying exact counts', async () => {
    await withWorker({}, async (config, store) => {
      const b = await startBatch(config, store, 600, { maxChunksInFlight: 3, historyEventsLimit: 40 }, 10);
      const result = (await b.handle.result()) as BatchProgress;
      expect(result).toMatchObject({ status: 'completed', total: 600, succeeded: 600, failed: 0, pending: 0 });
      expect(result.runs).toBeGreaterThan(3);
      expect(await countResults(store, b.batchId)).toEqual({ lines: 600, distinct: 600 });
      // Every run stayed short: the longest history is bounded by the limit plus one window of chunks.
      const histories: number[] = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${batchWorkflowId(b.batchId)}'` }))
        histories.push(wf.historyLength);
      expect(histories.length).toBe(result.runs);
      expect(Math.max(...histories)).toBeLessThan(100);
    });
  });
});
