/**
 * What an operator sees of a batch workflow in the Web UI and `temporal workflow list --query`, on a real
 * dev server (whose flags register the search attributes): LlmbatchStatus and LlmbatchPriority kept current
 * through pause, resume, a new priority and the end, upserted on changes only; the current details; the
 * chunk activities' summaries; and the Web UI's retry: the `retryDeadLetters` signal, sent with the Temporal
 * CLI as the Web UI's signal dialog sends it, re-running a completed batch's dead letters in the same batch.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { SearchAttributePair } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import type { Config } from '../../src/config';
import { resolveTemporalCli } from '../../src/devServer/binary';
import { startSimulator, type Simulator } from '../../src/provider';
import {
  batchWorkflowId,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setPrioritySignal,
  type BatchProgress,
  type BatchWorkflowInput,
} from '../../src/shared/contracts';
import { SearchAttributeKeys } from '../../src/shared/searchAttributes';
import type { BatchStore } from '../../src/storage/types';
import { chatLines } from '../helpers/fakes';
import { testConfig, testWorker } from '../helpers/stack';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';
import { newSecret, startReceiver, type Receiver } from '../helpers/webhookReceiver';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;
let sim: Simulator;
let config: Config;
let store: BatchStore;
let stopWorker: () => void;
let workerDone: Promise<void>;
let hooks: Receiver;
const secret = newSecret();

beforeAll(async () => {
  [env, bundle, sim] = await Promise.all([startDevServer(), bundleWorkflows(), startSimulator({ seed: 5 })]);
  hooks = await startReceiver(secret, () => 200);
  // Local mode: the `local` tenant signs its webhooks with LLMBATCH_WEBHOOK_SECRET.
  config = await testConfig(env, sim.url, {
    LLMBATCH_ITEM_CONCURRENCY: '8',
    LLMBATCH_AUTH: 'local',
    LLMBATCH_WEBHOOK_SECRET: secret,
    LLMBATCH_WEBHOOK_ALLOW: '127.0.0.1',
  });
  const { worker, store: s } = await testWorker(env, config, bundle);
  store = s;
  workerDone = worker.run();
  stopWorker = () => worker.shutdown();
});
afterAll(async () => {
  stopWorker?.();
  await workerDone;
  await hooks?.close();
  await sim?.close();
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

/** The workflow ids a visibility query finds. */
async function listed(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of env.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

/** Starts a batch workflow as the API does: with the five search attributes. */
async function startBatch(tenant: string, items: number, extra: Partial<BatchWorkflowInput> = {}, chunkSize = 10) {
  const batchId = randomUUID();
  const manifest = await store.putInput(batchId, chatLines(items, batchId.slice(0, 8)), chunkSize);
  const input: BatchWorkflowInput = {
    batchId,
    tenant,
    total: manifest.total,
    chunkCount: manifest.chunkCount,
    chunkSize,
    maxChunksInFlight: 2,
    ...extra,
  };
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: SearchAttributeKeys.tenant, value: tenant },
    { key: SearchAttributeKeys.mode, value: 'realtime' },
    { key: SearchAttributeKeys.status, value: 'running' },
    { key: SearchAttributeKeys.model, value: 'gpt-4o-mini' },
    { key: SearchAttributeKeys.priority, value: input.priority ?? 3 },
  ];
  const handle = await env.client.workflow.start('batchWorkflow', {
    workflowId: batchWorkflowId(batchId),
    taskQueue: config.temporal.taskQueue,
    args: [input],
    typedSearchAttributes,
  });
  return { batchId, handle, progress: () => handle.query(progressQuery) };
}

async function upserts(workflowId: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length;
}

describe('search attributes, details and summaries', () => {
  it('keeps LlmbatchStatus and LlmbatchPriority current through pause, resume and the end, on changes', async () => {
    sim.configure({ latencyMedianMs: 20, latencyP99Ms: 30, errorRate: 0 });
    const tenant = `acme-${randomUUID().slice(0, 6)}`;
    const b = await startBatch(tenant, 400);
    const id = batchWorkflowId(b.batchId);
    const ofTenant = `LlmbatchTenant="${tenant}"`;
    await until(async () => (await listed(`LlmbatchStatus="running" AND ${ofTenant}`)).includes(id));
    expect(await listed(`LlmbatchModel="gpt-4o-mini" AND LlmbatchMode="realtime" AND ${ofTenant}`)).toEqual([id]);

    await until(async () => (await b.progress()).succeeded >= 20);
    await b.handle.signal(pauseSignal);
    await until(async () => (await listed(`LlmbatchStatus="paused" AND ${ofTenant}`)).includes(id));
    expect(await listed(`LlmbatchStatus="running" AND ${ofTenant}`)).toEqual([]);
    // Current details: the live counts, read through the workflow's metadata query (no history).
    const meta = await b.handle.query<{ currentDetails: string; definition: { signalDefinitions: unknown[] } }>(
      '__temporal_workflow_metadata',
    );
    expect(meta.currentDetails).toMatch(/^\*\*paused\*\* · \d+ of 400 done · \d+ succeeded · 0 failed/);
    expect(meta.definition.signalDefinitions).toContainEqual({
      name: 'retryDeadLetters',
      description: expect.stringContaining('dead letters'),
    });

    await b.handle.signal(setPrioritySignal, 1);
    await b.handle.signal(resumeSignal);
    await until(async () => (await listed(`LlmbatchStatus="running" AND LlmbatchPriority=1 AND ${ofTenant}`)).length);
    expect(await b.handle.result()).toMatchObject({ status: 'completed', succeeded: 400 });
    await until(async () => (await listed(`LlmbatchStatus="completed" AND ${ofTenant}`)).includes(id));
    expect(await listed(`LlmbatchPriority=1 AND ${ofTenant}`)).toEqual([id]);

    // paused, priority 1, running, completed: four upserts for forty chunks.
    expect(await upserts(id)).toBe(4);
    // Each chunk activity carries its summary, shown by the Web UI in the event history.
    const history = await b.handle.fetchHistory();
    const summaries = (history.events ?? []).flatMap((e) => {
      const data = e.activityTaskScheduledEventAttributes ? e.userMetadata?.summary?.data : undefined;
      return data ? [JSON.parse(Buffer.from(data).toString()) as string] : [];
    });
    expect(summaries).toContain('chunk 0 of 40 · up to 10 items');
  });

  it('keeps them across continue-as-new', async () => {
    sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0, errorRate: 0 });
    const tenant = `can-${randomUUID().slice(0, 6)}`;
    const b = await startBatch(tenant, 200, { historyEventsLimit: 40, priority: 2 });
    const result = (await b.handle.result()) as BatchProgress;
    expect(result).toMatchObject({ status: 'completed', succeeded: 200 });
    expect(result.runs).toBeGreaterThan(1);
    // The last run started with the carried attributes: its upsert to completed needed them.
    await until(async () => (await listed(`LlmbatchStatus="completed" AND LlmbatchTenant="${tenant}"`)).length);
    const runs = await listed(`LlmbatchStatus="completed" AND LlmbatchPriority=2 AND LlmbatchTenant="${tenant}"`);
    expect(runs.length).toBeGreaterThanOrEqual(1);
  });
});

describe('retryDeadLetters: the Web UI retry of a completed batch', () => {
  it('re-runs the dead letters in the same batch once signalled within the grace, and ends', async () => {
    // Transient faults and one attempt per item: each fault is a dead letter (retries_exhausted).
    sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0, errorRate: 0.2 });
    const webhookUrl = `${hooks.url}/${randomUUID()}`;
    const options = { maxAttempts: 1, retryGraceMs: 60_000, maxChunksInFlight: 4, webhookUrl };
    const b = await startBatch('local', 200, options);
    const id = batchWorkflowId(b.batchId);
    const ended = await until(async () => store.getOutcome(b.batchId));
    expect(ended).toMatchObject({ status: 'completed', total: 200 });
    expect(ended.failed).toBeGreaterThan(10);
    const deadLetters = ended.failed;
    // Completed, and still open for the grace.
    await until(async () => (await listed(`LlmbatchStatus="completed" AND WorkflowId="${id}"`)).length);
    expect((await b.handle.describe()).status.name).toBe('RUNNING');

    sim.configure({ errorRate: 0 });
    sim.resetStats();
    const cli = resolveTemporalCli();
    await promisify(execFile)(cli.type === 'existing-path' ? cli.path : 'temporal', [
      'workflow',
      'signal',
      '--address',
      env.address,
      '--workflow-id',
      id,
      '--name',
      'retryDeadLetters',
    ]);
    const result = (await b.handle.result()) as BatchProgress;
    expect(result).toMatchObject({ status: 'completed', total: 200, succeeded: 200, failed: 0, pending: 0 });
    // Only the dead letters were called again, once each.
    expect(sim.stats().total).toBe(deadLetters);
    expect(await store.getOutcome(b.batchId)).toMatchObject({ status: 'completed', succeeded: 200, failed: 0 });
    let results = 0;
    for await (const r of store.streamResults(b.batchId, 'succeeded')) results += r.error === null ? 1 : 0;
    expect(results).toBe(200);
    // completed, running again, completed again: three upserts for twenty chunks run and the re-run ones.
    expect(await upserts(id)).toBe(3);
    // Each end is an event of its own: two batch.completed deliveries, each with its own webhook-id.
    const ends = await until(async () => {
      const got = hooks.received.filter((r) => r.path === new URL(webhookUrl).pathname);
      return got.length === 2 && got;
    });
    const data = ends.map((r) => (r.verified as { type: string; data: { failed: number } }).data.failed);
    expect(ends.map((r) => (r.verified as { type: string }).type)).toEqual(['batch.completed', 'batch.completed']);
    expect(new Set(ends.map((r) => r.headers['webhook-id'])).size).toBe(2);
    expect(data.sort((x, y) => y - x)).toEqual([deadLetters, 0]);
  });

  it('ends when the grace runs out without the signal', async () => {
    sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0, errorRate: 0.3 });
    const b = await startBatch(`grace-${randomUUID().slice(0, 6)}`, 50, { maxAttempts: 1, retryGraceMs: 1500 });
    const started = Date.now();
    const ended = await until(async () => store.getOutcome(b.batchId));
    const result = (await b.handle.result()) as BatchProgress;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result).toMatchObject({ status: 'completed', failed: ended.failed });
    expect(result.failed).toBeGreaterThan(0);
  });
});
