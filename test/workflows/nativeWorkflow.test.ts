/**
 * nativeBatchWorkflow on a real Temporal dev server against the simulator's Files and Batches API,
 * through the openai client: planning, one child per provider batch, expiry (resubmit and realtime),
 * cancel, pause, auth failure.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import type { Batch } from 'openai/resources/batches';
import { startSimulator, type Simulator } from '../../src/provider';
import { batchWorkflowId, cancelSignal, pauseSignal, resumeSignal, type BatchLine } from '../../src/shared/contracts';
import {
  mergeLiveProgress,
  nativeProgressQuery,
  providerBatchProgressQuery,
  type NativeBatchInput,
  type NativeBatchResult,
  type NativeProgress,
} from '../../src/shared/native';
import type { BatchStore } from '../../src/storage/types';
import { nativeBatchWorkflow } from '../../src/workflows';
import { chatLines } from '../helpers/fakes';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';
import { clientFor } from '../provider/helpers';
import { collect, historyLength, nativeWorker, sleep } from '../helpers/native';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;
let sim: Simulator;

const FAST = { batchLinesPerSecond: 2000, completionWindowMs: 86_400_000, apiKey: undefined };
/** Test-sized polling: the production default waits 30 s to 10 min between polls. */
const poll = { initialMs: 100, coefficient: 2, maxMs: 400, reportEvery: 3 };

beforeAll(async () => {
  [env, bundle, sim] = await Promise.all([
    startDevServer(),
    bundleWorkflows(),
    startSimulator({ seed: 3, batchValidatingMs: 10, batchFinalizingMs: 20 }),
  ]);
});
afterAll(async () => {
  await sim?.close();
  await env?.teardown();
});
beforeEach(() => {
  sim.configure(FAST);
  sim.resetStats();
});

interface RunOptions {
  input?: Partial<NativeBatchInput>;
  apiKey?: string;
  during?: (ctx: { batchId: string; store: BatchStore }) => Promise<void>;
}

async function runNative(lines: BatchLine[], opts: RunOptions = {}) {
  const openai = clientFor(sim, { apiKey: opts.apiKey });
  const { worker, store, taskQueue } = await nativeWorker(env, bundle, { openai });
  const batchId = randomUUID();
  const m = await store.putInput(batchId, lines, 100);
  const input: NativeBatchInput = { batchId, total: m.total, chunkCount: m.chunkCount, poll, ...opts.input };
  const run = worker.runUntil(async () => {
    const handle = await env.client.workflow.start(nativeBatchWorkflow, {
      workflowId: batchWorkflowId(batchId),
      taskQueue,
      args: [input],
    });
    await opts.during?.({ batchId, store });
    return handle.result();
  });
  return { run, store, batchId, openai };
}

/** The simulator's provider batches of one of our batches, oldest first. */
async function providerBatchesOf(batchId: string): Promise<Batch[]> {
  const all: Batch[] = [];
  for await (const b of clientFor(sim).batches.list({ limit: 100 }))
    if (b.metadata?.llmbatch_batch === batchId) all.push(b);
  return all.reverse();
}

/** Every child's history against the budget: under 100 events plus 2 per poll. */
async function expectHistoryBudget(result: NativeBatchResult): Promise<void> {
  for (const e of result.providerBatches) {
    if (!e.last) continue;
    const events = await historyLength(env, e.last.workflowId);
    expect(events).toBeLessThan(100 + 2 * e.last.polls);
  }
}

/** What an API would show: the parent's counts plus the running children's request_counts. */
async function liveProgress(batchId: string): Promise<NativeProgress> {
  const progress = await env.client.workflow.getHandle(batchWorkflowId(batchId)).query(nativeProgressQuery);
  const live = new Map<string, { succeeded: number; failed: number }>();
  for (const e of progress.providerBatches) {
    if (e.state !== 'running' || e.workflowId === null) continue;
    const child = await env.client.workflow.getHandle(e.workflowId).query(providerBatchProgressQuery);
    live.set(e.workflowId, { succeeded: child.requestCounts.completed, failed: child.requestCounts.failed });
  }
  return mergeLiveProgress(progress, live);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('nativeBatchWorkflow', () => {
  it('1,200 items at 500 lines a provider batch: 3 of them, every custom_id once, the provider’s answers', async () => {
    const lines = chatLines(1200, 'native');
    const { run, store, batchId } = await runNative(lines, { input: { limits: { maxLines: 500 } } });
    const result = await run;
    expect(result).toMatchObject({
      status: 'completed',
      mode: 'native',
      total: 1200,
      succeeded: 1200,
      failed: 0,
      pending: 0,
    });

    // Children run side by side, so the provider saw them created in any order.
    const batches = (await providerBatchesOf(batchId)).sort((a, b) =>
      String(a.metadata?.llmbatch_id).localeCompare(String(b.metadata?.llmbatch_id)),
    );
    expect(batches.map((b) => [b.metadata?.llmbatch_id, b.status, b.request_counts?.total])).toEqual(
      [0, 1, 2].map((k) => [`batch-${batchId}-pb-${k}`, 'completed', k < 2 ? 500 : 200]),
    );
    expect(sim.stats().bodies).toMatchObject({ distinct: 1200, duplicates: 0 });

    const results = await collect(store.streamResults(batchId));
    expect(results).toHaveLength(1200);
    expect(new Set(results.map((r) => r.custom_id)).size).toBe(1200);
    const direct = clientFor(sim);
    const byId = new Map(results.map((r) => [r.custom_id, r]));
    for (const line of [lines[0], lines[777], lines[1199]] as BatchLine[]) {
      const expected = await direct.chat.completions.create(line.body as never);
      expect((byId.get(line.custom_id)?.response?.body as { choices: unknown }).choices).toEqual(expected.choices);
    }
    expect(result.providerBatches.map((e) => [e.state, e.round, e.last?.status, e.summary?.remaining])).toEqual(
      [0, 1, 2].map(() => ['done', 0, 'completed', 0]),
    );
    expect(result.tokensIn).toBeGreaterThan(0);
    await expectHistoryBudget(result);
  });

  it('expiry with partial results: the rest is resubmitted until every item is done, none done twice', async () => {
    // 200 lines/s and a 1.5 s window: each provider batch finishes about 300 lines, then expires.
    sim.configure({ completionWindowMs: 1500, batchLinesPerSecond: 200 });
    const { run, store, batchId } = await runNative(chatLines(700, 'exp'), { input: { maxRounds: 6 } });
    const result = await run;
    expect(result).toMatchObject({ status: 'completed', succeeded: 700, failed: 0, pending: 0 });

    const batches = await providerBatchesOf(batchId);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.map((b) => b.metadata?.llmbatch_id)).toEqual(
      batches.map((_, n) => `batch-${batchId}-pb-0${n > 0 ? `-r${n}` : ''}`),
    );
    expect(batches[0]?.status).toBe('expired');
    expect(batches[0]?.request_counts?.completed).toBeGreaterThan(0);
    // Each resubmission holds only what had no result: the lines add up, and no body ran twice.
    expect(batches.reduce((n, b) => n + (b.request_counts?.completed ?? 0), 0)).toBe(700);
    expect(batches[1]?.request_counts?.total).toBe(700 - (batches[0]?.request_counts?.completed ?? 0));
    expect(sim.stats().bodies).toMatchObject({ distinct: 700, duplicates: 0 });
    const results = await collect(store.streamResults(batchId));
    expect(results.filter((r) => r.response?.status_code === 200)).toHaveLength(700);
    await expectHistoryBudget(result);
  });

  it('expiry with the realtime policy: the rest is done by the realtime batch workflow', async () => {
    sim.configure({ completionWindowMs: 1000, batchLinesPerSecond: 200 });
    const { run, store, batchId } = await runNative(chatLines(500, 'rt'), { input: { expiryPolicy: 'realtime' } });
    const result = await run;
    expect(result).toMatchObject({ status: 'completed', succeeded: 500, failed: 0, pending: 0 });
    const [native, ...others] = await providerBatchesOf(batchId);
    expect(others).toHaveLength(0);
    expect(native?.status).toBe('expired');
    const doneNatively = native?.request_counts?.completed ?? 0;
    expect(doneNatively).toBeGreaterThan(0);
    expect(doneNatively).toBeLessThan(500);
    expect(sim.stats().requests['/v1/chat/completions']?.['200']).toBe(500 - doneNatively);
    expect(sim.stats().bodies).toMatchObject({ distinct: 500, duplicates: 0 });
    const fallback = await env.client.workflow.getHandle(`batch-${batchId}-pb-0-rt`).describe();
    expect(fallback.status.name).toBe('COMPLETED');
    expect(result.providerBatches[0]).toMatchObject({
      state: 'done',
      workflowId: `batch-${batchId}-pb-0-rt`,
      summary: { succeeded: 500, remaining: 0 },
    });
    expect(await collect(store.streamResults(batchId))).toHaveLength(500);
  });

  it('cancel cancels the provider batches, waits for cancelled, and keeps their partial results', async () => {
    sim.configure({ batchLinesPerSecond: 100 });
    let live: NativeProgress | undefined;
    const { run, store, batchId } = await runNative(chatLines(1000, 'cx'), {
      input: { limits: { maxLines: 500 } },
      during: async ({ batchId: id }) => {
        // Progress while the provider works comes from its request_counts, through the children.
        await waitFor('both provider batches to report progress', async () => {
          live = await liveProgress(id);
          return live.providerBatches.length === 2 && live.succeeded >= 40;
        });
        await env.client.workflow.getHandle(batchWorkflowId(id)).signal(cancelSignal);
      },
    });
    const result = await run;
    expect(live).toMatchObject({ status: 'running', total: 1000, failed: 0, chunksInFlight: 2, itemsInFlight: 1000 });
    expect(live?.pending).toBe(1000 - (live?.succeeded ?? 0));
    const batches = await providerBatchesOf(batchId);
    expect(batches.map((b) => b.status)).toEqual(['cancelled', 'cancelled']);
    const finished = batches.reduce((n, b) => n + (b.request_counts?.completed ?? 0), 0);
    expect(finished).toBeGreaterThanOrEqual(live?.succeeded ?? Infinity);
    expect(finished).toBeLessThan(1000);
    const results = await collect(store.streamResults(batchId));
    expect(results).toHaveLength(finished);
    expect(result).toMatchObject({ status: 'cancelled', succeeded: finished, failed: 0, pending: 1000 - finished });
    // No resubmission after a cancel.
    expect(result.providerBatches.every((e) => e.round === 0 && e.last?.status === 'cancelled')).toBe(true);
  });

  it('a Temporal cancel of the batch workflow does what the cancel signal does', async () => {
    sim.configure({ batchLinesPerSecond: 100 });
    const { run, batchId } = await runNative(chatLines(400, 'tc'), {
      during: async ({ batchId: id }) => {
        await waitFor(
          'the provider batch under way',
          async () => ((await providerBatchesOf(id))[0]?.request_counts?.completed ?? 0) >= 20,
        );
        await env.client.workflow.getHandle(batchWorkflowId(id)).cancel();
      },
    });
    const result = await run;
    const [b] = await providerBatchesOf(batchId);
    expect(b?.status).toBe('cancelled');
    expect(result).toMatchObject({ status: 'cancelled', succeeded: b?.request_counts?.completed });
  });

  it(
    'a provider batch that keeps failing is resubmitted up to maxRounds, then its items become dead letters naming ' +
      'the reason',
    async () => {
      // The provider refuses files over 100 lines; our plan (default limits) sends 150.
      sim.configure({ maxBatchLines: 100 });
      try {
        const { run, store, batchId } = await runNative(chatLines(150, 'fl'), { input: { maxRounds: 2 } });
        const result = await run;
        expect(result).toMatchObject({ status: 'completed', succeeded: 0, failed: 150, pending: 0 });
        expect((await providerBatchesOf(batchId)).map((b) => [b.metadata?.llmbatch_id, b.status])).toEqual([
          [`batch-${batchId}-pb-0`, 'failed'],
          [`batch-${batchId}-pb-0-r1`, 'failed'],
        ]);
        const results = await collect(store.streamResults(batchId));
        expect(results).toHaveLength(150);
        expect(results[0]?.error?.code).toBe('provider_batch_exhausted');
        expect(results[0]?.error?.message).toMatch(/no result after 2 provider batches \(last: failed: .*at most 100/);
      } finally {
        sim.configure({ maxBatchLines: 50_000 });
      }
    },
  );

  it('pause holds the submission of further provider batches; resume lets them go', async () => {
    sim.configure({ batchLinesPerSecond: 100 });
    let createdWhilePaused = -1;
    const { run, batchId } = await runNative(chatLines(300, 'ps'), {
      input: { limits: { maxLines: 100 }, maxInFlight: 1 },
      during: async ({ batchId: id }) => {
        const handle = env.client.workflow.getHandle(batchWorkflowId(id));
        // Pause while the first provider batch (about 1 s of work) runs.
        await waitFor('the first provider batch', async () => (await providerBatchesOf(id)).length === 1);
        await handle.signal(pauseSignal);
        await waitFor('the running provider batch to finish', async () =>
          (await handle.query(nativeProgressQuery)).providerBatches.some((e) => e.state === 'done'),
        );
        await sleep(1500);
        createdWhilePaused = (await providerBatchesOf(id)).length;
        expect((await handle.query(nativeProgressQuery)).status).toBe('paused');
        await handle.signal(resumeSignal);
      },
    });
    const result = await run;
    expect(createdWhilePaused).toBe(1);
    expect(result).toMatchObject({ status: 'completed', succeeded: 300 });
    expect(await providerBatchesOf(batchId)).toHaveLength(3);
  });

  it('fails fast with ProviderAuthError when the provider rejects the key', async () => {
    sim.configure({ apiKey: 'sk-right' });
    const { run } = await runNative(chatLines(50, 'auth'), { apiKey: 'sk-wrong' });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as { type?: string }).type).toBe('ProviderAuthError');
  });
});
