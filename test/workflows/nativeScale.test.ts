/**
 * The scale acceptance: 120,000 items in native mode against the simulator, with the default
 * limits (50,000 lines per provider batch) → exactly 3 provider batches, and every custom_id exactly
 * once in the store, none written twice. The simulator runs its batches as fast as it can and the
 * poll ramp is test-sized; what is left is our own work (plan, upload, collect), which the log line
 * breaks down per activity.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import type { Batch } from 'openai/resources/batches';
import { ManagedChild, tsEntry } from '../../src/cli/processes';
import { batchWorkflowId } from '../../src/shared/contracts';
import type { NativeBatchInput } from '../../src/shared/native';
import { FileBatchStore } from '../../src/storage/fileStore';
import { isSuccess } from '../../src/storage/types';
import { nativeBatchWorkflow } from '../../src/workflows';
import { chatLines } from '../helpers/fakes';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';
import { clientFor } from '../provider/helpers';
import { activityDurations, historyLength, nativeWorker } from '../helpers/native';

const TOTAL = 120_000;
const CHUNK_SIZE = 100;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;
let sim: ManagedChild;
let simUrl: string;
let dir: string;

/**
 * The simulator in a process of its own, as a real provider would be: run in the test's process, its
 * work on 120,000 lines would stall the worker's event loop (and so its heartbeats) on a busy machine.
 */
async function startSimulatorProcess(logDir: string): Promise<{ child: ManagedChild; url: string }> {
  // As fast as the simulator goes: it then spends its time executing the lines, not waiting.
  const flags = [
    '--port',
    '0',
    '--seed',
    '5',
    '--batch-lines-per-second',
    '10000000',
    '--batch-validating-ms',
    '0',
    '--batch-finalizing-ms',
    '0',
  ];
  const child = new ManagedChild({ name: 'simulator', ...tsEntry('src/provider/providerMain.ts', flags) }, logDir);
  const listening = /listening on (http:\S+)/;
  const line = await child.waitForLine(listening, 60_000);
  return { child, url: listening.exec(line)?.[1] as string };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmbatch-native-scale-'));
  let started: { child: ManagedChild; url: string };
  [env, bundle, started] = await Promise.all([
    startDevServer(),
    bundleWorkflows(),
    startSimulatorProcess(join(dir, 'logs')),
  ]);
  ({ child: sim, url: simUrl } = started);
});
afterAll(async () => {
  await sim?.stop();
  await env?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Raw lines in the batch's append-only result files: duplicates included, unlike the store's reads. */
async function rawResultLines(resultsDir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(resultsDir))
    n += (await readFile(join(resultsDir, f), 'utf8')).split('\n').filter((l) => l.startsWith('{')).length;
  return n;
}

it('120,000 items with default limits: 3 provider batches, every custom_id once', async () => {
  const openai = clientFor({ url: simUrl }, { timeout: 120_000 });
  const store = new FileBatchStore(dir);
  const { worker, taskQueue } = await nativeWorker(env, bundle, { openai, store });
  const lines = chatLines(TOTAL, 'scale');
  const batchId = randomUUID();

  const t0 = Date.now();
  const m = await store.putInput(batchId, lines, CHUNK_SIZE);
  const putMs = Date.now() - t0;
  const input: NativeBatchInput = {
    batchId,
    total: m.total,
    chunkCount: m.chunkCount,
    poll: { initialMs: 200, coefficient: 1.5, maxMs: 1000, reportEvery: 3 },
  };
  const result = await worker.runUntil(
    env.client.workflow.execute(nativeBatchWorkflow, {
      workflowId: batchWorkflowId(batchId),
      taskQueue,
      args: [input],
    }),
  );
  const runMs = Date.now() - t0 - putMs;

  expect(result).toMatchObject({
    status: 'completed',
    mode: 'native',
    total: TOTAL,
    succeeded: TOTAL,
    failed: 0,
    pending: 0,
  });

  // The provider's view: three provider batches of this batch, one per plan, no second one for any.
  const ours: Batch[] = [];
  for await (const b of openai.batches.list({ limit: 100 })) if (b.metadata?.llmbatch_batch === batchId) ours.push(b);
  ours.sort((a, b) => String(a.metadata?.llmbatch_id).localeCompare(String(b.metadata?.llmbatch_id)));
  expect(
    ours.map((b) => [b.metadata?.llmbatch_id, b.status, b.request_counts?.total, b.request_counts?.completed]),
  ).toEqual([
    [`batch-${batchId}-pb-0`, 'completed', 50_000, 50_000],
    [`batch-${batchId}-pb-1`, 'completed', 50_000, 50_000],
    [`batch-${batchId}-pb-2`, 'completed', 20_000, 20_000],
  ]);
  // Every body reached the provider exactly once.
  const stats = (await (await fetch(`${simUrl.replace(/\/v1$/, '')}/_sim/stats`)).json()) as { bodies: unknown };
  expect(stats.bodies).toMatchObject({ distinct: TOTAL, duplicates: 0 });

  // The store: every custom_id exactly once, each a success, and nothing appended twice.
  const ids = new Set<string>();
  let results = 0;
  let successes = 0;
  for await (const r of store.streamResults(batchId)) {
    results += 1;
    ids.add(r.custom_id);
    if (isSuccess(r)) successes += 1;
  }
  expect(results).toBe(TOTAL);
  expect(successes).toBe(TOTAL);
  expect(ids.size).toBe(TOTAL);
  for (const l of lines) if (!ids.has(l.custom_id)) throw new Error(`no result for ${l.custom_id}`);
  expect(await rawResultLines(join(dir, 'batches', batchId, 'results'))).toBe(TOTAL);

  const children = result.providerBatches.map((e) => e.last?.workflowId as string);
  const breakdown: Record<string, unknown> = {};
  for (const id of [batchWorkflowId(batchId), ...children]) {
    const events = await historyLength(env, id);
    const polls = result.providerBatches.find((e) => e.last?.workflowId === id)?.last?.polls;
    if (polls !== undefined) expect(events).toBeLessThan(100 + 2 * polls);
    breakdown[id.slice(`batch-${batchId}-`.length) || 'parent'] = {
      events,
      polls,
      activitiesMs: await activityDurations(env, id),
    };
  }
  console.log(`[native-scale] ${JSON.stringify({ total: TOTAL, putInputMs: putMs, workflowMs: runMs, breakdown })}`);
}, 300_000);
