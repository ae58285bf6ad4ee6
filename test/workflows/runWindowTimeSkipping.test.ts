/**
 * Run windows (options.window) on Temporal's time-skipping test server, in Europe/Berlin across the
 * spring-forward of 2027-03-28 (02:00 CET → 03:00 CEST), so the window 01:00–06:00 closes at 04:00Z that morning
 * and opens at 23:00Z that evening. A batch that may start outside its window is paused (reason `window`) with
 * no provider call until the window opens; a batch running at the window's end pauses then, chunks in flight
 * stopped, and resumes at the next start, each item answered once.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import {
  batchWorkflowId,
  progressQuery,
  type BatchProgress,
  type BatchWorkflowInput,
} from '../../src/shared/contracts';
import type { RunWindow } from '../../src/shared/runWindow';
import { isEnded } from '../../src/shared/statuses';
import { batchWorkflow } from '../../src/workflows';
import { chatLines, MemoryStore } from '../helpers/fakes';
import { nativeWorker } from '../helpers/native';
import { timeSkippingSuite, useTimeSkippingStack } from '../helpers/testServer';

const { serverPath, describeWithServer } = timeSkippingSuite('test/workflows/runWindowTimeSkipping.test.ts');

const window: RunWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Berlin' };
const ms = (iso: string) => Date.parse(iso);

describeWithServer('options.window on the time-skipping test server', () => {
  const ts = useTimeSkippingStack(serverPath, 5);

  async function windowBatch(store: MemoryStore, items: number, notBefore: string): Promise<BatchWorkflowInput> {
    const batchId = randomUUID();
    const m = await store.putInput(batchId, chatLines(items, 'night'), 50);
    const { total, chunkCount, chunkSize } = m;
    return { batchId, total, chunkCount, chunkSize, maxChunksInFlight: 1, notBeforeMs: ms(notBefore), window };
  }

  /**
   * Skips the test server's clock to half a second before `iso`; from there it runs at real speed. Skipping onto
   * the instant chunks are scheduled would let the server go on skipping before they run (to a timeout years ahead).
   */
  const sleepUntil = async (iso: string) => ts.env.sleep(Math.max(0, ms(iso) - 500 - (await ts.env.currentTimeMs())));

  /**
   * The batch's final progress, polled in real time. Not `handle.result()`: the test server skips time while it
   * waits, past the window's next closing while chunks run, or 10 years ahead once the workflow has ended.
   */
  async function ended(handle: WorkflowHandle<typeof batchWorkflow>): Promise<BatchProgress> {
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (isEnded(progress.status)) return progress;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('outside its window: paused for `window`, next window shown, no call before it opens, then done', async () => {
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: ts.openai, store });
    const input = await windowBatch(store, 100, '2027-03-27T12:00:00Z');
    const workflowId = batchWorkflowId(input.batchId);
    const { waiting, calls, result } = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(batchWorkflow, { workflowId, taskQueue, args: [input] });
      await sleepUntil('2027-03-27T23:59:00Z');
      const waiting = await handle.query(progressQuery);
      const calls = ts.sim.stats().total;
      await sleepUntil('2027-03-28T00:00:00Z');
      return { waiting, calls, result: await ended(handle) };
    });
    expect(waiting).toMatchObject({ status: 'paused', pauseReason: 'window', succeeded: 0, eta: null });
    expect(waiting.window).toEqual({
      ...window,
      open: false,
      opensAt: '2027-03-28T00:00:00.000Z',
      closesAt: '2027-03-28T04:00:00.000Z',
    });
    expect(calls).toBe(0);
    expect(result).toMatchObject({ status: 'completed', succeeded: 100, failed: 0 });
    const history = await ts.env.client.workflow.getHandle(workflowId).fetchHistory();
    const firstChunk = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes);
    expect(Number(String(firstChunk?.eventTime?.seconds ?? 0)) * 1000).toBeGreaterThanOrEqual(
      ms('2027-03-28T00:00:00Z'),
    );
  }, 120_000);

  it('running at 06:00 CEST (04:00Z): pauses then, chunks stopped; resumes at 23:00Z; each item once', async () => {
    const store = new MemoryStore();
    const { worker, taskQueue } = await nativeWorker(ts.env, ts.bundle, { openai: ts.openai, store });
    // Slow answers, so that a chunk is in flight when the window closes a few (real) seconds after the start.
    ts.sim.configure({ latencyMedianMs: 800, latencyP99Ms: 1200 });
    const input = await windowBatch(store, 200, '2027-03-28T03:59:57Z');
    const workflowId = batchWorkflowId(input.batchId);
    const { closed, callsAtClose, recordedAtClose, callsBeforeOpen, result } = await worker.runUntil(async () => {
      const handle = await ts.env.client.workflow.start(batchWorkflow, { workflowId, taskQueue, args: [input] });
      await sleepUntil('2027-03-28T03:59:57Z');
      // The test server's clock runs at real speed while chunks run: the close comes in about 3 s.
      let closed: BatchProgress;
      do {
        await new Promise((r) => setTimeout(r, 200));
        closed = await handle.query(progressQuery);
      } while (closed.status !== 'paused' || closed.chunksInFlight > 0);
      const callsAtClose = ts.sim.stats().total;
      const recordedAtClose = [...store.results.values()].flat().length;
      ts.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
      await sleepUntil('2027-03-28T22:59:00Z');
      const callsBeforeOpen = ts.sim.stats().total;
      await sleepUntil('2027-03-28T23:00:00Z');
      return { closed, callsAtClose, recordedAtClose, callsBeforeOpen, result: await ended(handle) };
    });
    expect(closed).toMatchObject({ pauseReason: 'window', chunksInFlight: 0 });
    expect(closed.window).toMatchObject({ open: false, opensAt: '2027-03-28T23:00:00.000Z' });
    // The items the stopped chunk had finished stay recorded (its counts come when it is re-run).
    expect(recordedAtClose).toBeGreaterThan(0);
    expect(recordedAtClose).toBeLessThan(200);
    expect(callsBeforeOpen).toBe(callsAtClose);
    expect(result).toMatchObject({ status: 'completed', succeeded: 200, failed: 0 });
    const answered = [...store.results.values()].flat().map((r) => r.custom_id);
    expect(new Set(answered).size).toBe(200);
    expect(answered).toHaveLength(200);
  }, 120_000);
});
