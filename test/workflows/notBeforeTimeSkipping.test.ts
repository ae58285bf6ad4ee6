/**
 * Start later (options.notBefore) on Temporal's time-skipping test server: the batch workflow waits on a durable
 * timer, `scheduled` meanwhile, and makes no provider call before its time; then it runs and completes. A
 * scheduled batch cancelled before its time ends `cancelled` with nothing run. Realtime and native alike.
 */
import { randomUUID } from 'node:crypto';
import type { Batch } from 'openai/resources/batches';
import {
  batchWorkflowId,
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  type BatchLine,
  type BatchOutputLine,
  type BatchWorkflowInput,
} from '../../src/shared/contracts';
import type { NativeBatchInput } from '../../src/shared/native';
import { batchWorkflow, nativeBatchWorkflow } from '../../src/workflows';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { chatLines, MemoryStore } from '../helpers/fakes';
import { nativeWorker } from '../helpers/native';
import { timeSkippingSuite, useTimeSkippingStack } from '../helpers/testServer';

const { serverPath, describeWithServer } = timeSkippingSuite('test/workflows/notBeforeTimeSkipping.test.ts');

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** A Batch API whose batches complete on their first poll, each line answered. */
function batchApi(): FakeBatchApi {
  const api = new FakeBatchApi();
  api.onRetrieve = (b: Batch) => {
    const lines = (api.files.get(b.input_file_id)?.content ?? '').trim().split('\n');
    const answers = lines.map((l): BatchOutputLine => {
      const id = (JSON.parse(l) as BatchLine).custom_id;
      return { id, custom_id: id, response: { status_code: 200, request_id: id, body: { id } }, error: null };
    });
    const out = api.addFile(answers.map((a) => JSON.stringify(a)).join('\n'));
    const total = lines.length;
    Object.assign(b, {
      status: 'completed',
      output_file_id: out.id,
      request_counts: { total, completed: total, failed: 0 },
    });
  };
  return api;
}

describeWithServer('options.notBefore on the time-skipping test server', () => {
  const ts = useTimeSkippingStack(serverPath, 3);

  /** A 250-item batch whose work starts 6 h after now (the test server's clock). */
  async function scheduledBatch(store: MemoryStore): Promise<{ input: BatchWorkflowInput; notBeforeMs: number }> {
    const batchId = randomUUID();
    const m = await store.putInput(batchId, chatLines(250, 'later'), 100);
    const notBeforeMs = (await ts.env.currentTimeMs()) + 6 * HOUR_MS;
    const input: BatchWorkflowInput = {
      batchId,
      total: m.total,
      chunkCount: m.chunkCount,
      chunkSize: m.chunkSize,
      maxChunksInFlight: 2,
      notBeforeMs,
    };
    return { input, notBeforeMs };
  }

  it('is scheduled, with no provider call, for 5 h 59 min; then starts at 6 h and completes', async () => {
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: ts.openai, store });
    const { input, notBeforeMs } = await scheduledBatch(store);
    const workflowId = batchWorkflowId(input.batchId);
    const { before, paused, result } = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(batchWorkflow, { workflowId, taskQueue, args: [input] });
      await ts.env.sleep(6 * HOUR_MS - MINUTE_MS);
      const before = { progress: await handle.query(progressQuery), calls: ts.sim.stats().total };
      // A pause while scheduled shows (and would hold the batch at its time); resume undoes it.
      await handle.signal(pauseSignal);
      const paused = (await handle.query(progressQuery)).status;
      await handle.signal(resumeSignal);
      return { before, paused, result: await handle.result() };
    });
    expect(before.progress).toMatchObject({
      status: 'scheduled',
      notBefore: new Date(notBeforeMs).toISOString(),
      succeeded: 0,
      chunksInFlight: 0,
      eta: null,
    });
    expect(before.calls).toBe(0);
    expect(paused).toBe('paused');
    expect(result).toMatchObject({ status: 'completed', succeeded: 250, failed: 0 });
    expect(ts.sim.stats().total).toBe(250);
    // The work started at its time, not before: the rate counts from then, and so does the first chunk.
    expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(notBeforeMs);
    const history = await ts.env.client.workflow.getHandle(workflowId).fetchHistory();
    const firstChunk = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes);
    const firstChunkMs = Number(String(firstChunk?.eventTime?.seconds ?? 0)) * 1000;
    expect(firstChunkMs).toBeGreaterThanOrEqual(notBeforeMs - 1000);
  }, 120_000);

  it('a scheduled batch cancelled before its time ends cancelled, with no provider call', async () => {
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: ts.openai, store });
    const { input } = await scheduledBatch(store);
    const workflowId = batchWorkflowId(input.batchId);
    const result = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(batchWorkflow, { workflowId, taskQueue, args: [input] });
      await ts.env.sleep(2 * HOUR_MS);
      expect((await handle.query(progressQuery)).status).toBe('scheduled');
      await handle.signal(cancelSignal);
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'cancelled', succeeded: 0, failed: 0, pending: 250 });
    expect(ts.sim.stats().total).toBe(0);
    expect(await store.getOutcome(input.batchId)).toMatchObject({ status: 'cancelled' });
    // Ended within the wait: nothing was scheduled.
    const history = await ts.env.client.workflow.getHandle(workflowId).fetchHistory();
    const chunks = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    expect(chunks.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).not.toContain('processChunk');
  }, 120_000);

  it('native: scheduled with nothing uploaded for 5 h 59 min, then planned, sent and completed', async () => {
    const api = batchApi();
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: api.client, store });
    const { input: realtime, notBeforeMs } = await scheduledBatch(store);
    const { maxChunksInFlight: _m, chunkSize: _c, ...base } = realtime;
    const input: NativeBatchInput = {
      ...base,
      poll: { initialMs: 1000, coefficient: 2, maxMs: 60_000, reportEvery: 3 },
    };
    const workflowId = batchWorkflowId(input.batchId);
    const { before, result } = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(nativeBatchWorkflow, { workflowId, taskQueue, args: [input] });
      await ts.env.sleep(6 * HOUR_MS - MINUTE_MS);
      const before = { progress: await handle.query(progressQuery), calls: { ...api.calls } };
      return { before, result: await handle.result() };
    });
    expect(before.progress).toMatchObject({ status: 'scheduled', mode: 'native' });
    expect(before.progress.notBefore).toBe(new Date(notBeforeMs).toISOString());
    expect(before.calls).toMatchObject({ upload: 0, create: 0 });
    expect(result).toMatchObject({ status: 'completed', succeeded: 250 });
    expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(notBeforeMs);
  }, 120_000);

  it('native: a scheduled batch cancelled before its time ends cancelled, nothing uploaded', async () => {
    const api = batchApi();
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: api.client, store });
    const { input: realtime } = await scheduledBatch(store);
    const { maxChunksInFlight: _m, chunkSize: _c, ...input } = realtime;
    const result = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(nativeBatchWorkflow, {
        workflowId: batchWorkflowId(input.batchId),
        taskQueue,
        args: [input],
      });
      await ts.env.sleep(HOUR_MS);
      await handle.signal(cancelSignal);
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'cancelled', succeeded: 0 });
    expect(api.calls).toMatchObject({ upload: 0, create: 0 });
  }, 120_000);
});
