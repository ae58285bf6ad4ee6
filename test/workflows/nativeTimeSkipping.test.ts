/**
 * A provider batch with a 24 h completion window on Temporal's time-skipping test server: the
 * production poll schedule (30 s doubling to 10 min), unscaled, against a provider that stays
 * in_progress for 24 h of (skipped) time and then completes.
 *
 * The waits between polls are activity retry timers (nextRetryDelay), so the server can skip over them
 * like over workflow timers. What this shows: the whole day passes in seconds of real time, the
 * poll count is exactly the production schedule's (so the server honoured every nextRetryDelay), the
 * history stays within 100 + 2 events per poll, and while the batch waits nothing runs on any worker:
 * the poll is SCHEDULED (a server-side timer), no activity slot is taken, and a worker with a single
 * activity slot carries several day-long provider batches at once.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import type { Batch } from 'openai/resources/batches';
import type { BatchLine, BatchOutputLine } from '../../src/shared/contracts';
import {
  pollDelayMs,
  PollPolicySchema,
  providerBatchProgressQuery,
  providerBatchWorkflowId,
  type ProviderBatchInput,
  type ProviderBatchResult,
} from '../../src/shared/native';
import { MemoryStore, chatLines } from '../helpers/fakes';
import { bundleWorkflows } from '../helpers/temporal';
import { startTimeSkipping, timeSkippingSuite } from '../helpers/testServer';
import { providerBatchWorkflow } from '../../src/workflows';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { collect, historyLength, nativeWorker, sleep } from '../helpers/native';

const { serverPath, describeWithServer } = timeSkippingSuite('test/workflows/nativeTimeSkipping.test.ts');

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const production = PollPolicySchema.parse({});
/** History events of a provider batch apart from its polls (start, upload, create, terminal poll, collect, end). */
const FIXED_EVENTS = 30;

/** A protobuf timestamp or duration in milliseconds (its seconds are a Long, a string or a number). */
const tsMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number =>
  t ? Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Number.NaN;

/** The instants (ms after the first poll) of the production schedule's polls up to the first at or after `windowMs`. */
function pollSchedule(windowMs: number): number[] {
  const at = [0];
  while ((at.at(-1) as number) < windowMs) at.push((at.at(-1) as number) + pollDelayMs(production, at.length));
  return at;
}

/**
 * A provider whose batches stay in_progress until 24 h of the test server's clock have passed since
 * their first poll, a little further along on every poll, then complete with an answer per line.
 */
function dayLongProvider(env: TestWorkflowEnvironment): { api: FakeBatchApi; pollTimes: Map<string, number[]> } {
  const api = new FakeBatchApi();
  const pollTimes = new Map<string, number[]>();
  api.onRetrieve = async (b: Batch) => {
    const now = await env.currentTimeMs();
    const times = pollTimes.get(b.id) ?? [];
    times.push(now);
    pollTimes.set(b.id, times);
    const elapsed = now - (times[0] as number);
    const lines = (api.files.get(b.input_file_id)?.content ?? '').trim().split('\n');
    const total = lines.length;
    if (elapsed < DAY_MS) {
      Object.assign(b, {
        status: 'in_progress',
        request_counts: { total, completed: Math.floor((total * elapsed) / DAY_MS), failed: 0 },
      });
      return;
    }
    const answers: BatchOutputLine[] = lines.map((l) => {
      const id = (JSON.parse(l) as BatchLine).custom_id;
      return {
        id: `batch_req_${id}`,
        custom_id: id,
        response: { status_code: 200, request_id: `req_${id}`, body: { answer: id } },
        error: null,
      };
    });
    const out = api.addFile(answers.map((a) => JSON.stringify(a)).join('\n'));
    Object.assign(b, {
      status: 'completed',
      output_file_id: out.id,
      request_counts: { total, completed: total, failed: 0 },
    });
  };
  return { api, pollTimes };
}

/**
 * Server time from the first start to the last close of these workflows. Not the clock after the
 * test: once nothing is left to run, the test server skips to its next timer, years away.
 */
async function runTimeMs(env: TestWorkflowEnvironment, workflowIds: string[]): Promise<number> {
  const described = await Promise.all(workflowIds.map((id) => env.client.workflow.getHandle(id).describe()));
  const start = Math.min(...described.map((d) => d.startTime.getTime()));
  const close = Math.max(...described.map((d) => d.closeTime?.getTime() ?? Number.NaN));
  return close - start;
}

async function providerBatchInput(store: MemoryStore, lines: BatchLine[]): Promise<ProviderBatchInput> {
  const batchId = randomUUID();
  const m = await store.putInput(batchId, lines, 100);
  return {
    batchId,
    plan: {
      index: 0,
      endpoint: '/v1/chat/completions',
      firstChunk: 0,
      lastChunk: m.chunkCount - 1,
      lines: m.total,
      bytes: 0,
    },
    round: 0,
    finalRound: false,
    limits: { maxLines: 50_000, maxBytes: 200 * 1024 * 1024 },
    poll: production,
  };
}

describeWithServer('a 24 h provider batch on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundlePath;

  beforeAll(async () => {
    [env, bundle] = await Promise.all([startTimeSkipping(serverPath), bundleWorkflows()]);
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('the production schedule polls a 24 h window 149 times', () => {
    expect(pollSchedule(DAY_MS)).toHaveLength(149); // at 0, then after 30 s, 1, 2, 4, 8 min, then every 10 min
  });

  it('completes in skipped time on the production schedule, within the history budget, holding no worker', async () => {
    const expectedPolls = pollSchedule(DAY_MS).length;
    const { api, pollTimes } = dayLongProvider(env);
    const store = new MemoryStore();
    const lines = chatLines(500, 'day');
    const input = await providerBatchInput(store, lines);
    const workflowId = providerBatchWorkflowId(input.batchId, 0, 0);
    const { worker, taskQueue } = await nativeWorker(env, bundle, { openai: api.client, store });

    const realStart = Date.now();
    const { result, midway } = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(providerBatchWorkflow, { workflowId, taskQueue, args: [input] });
      // Half a day on: the test server skips time only while we sleep (or await a result); once this
      // returns its clock runs at real speed again, so the next poll is minutes away.
      await env.sleep(12 * HOUR_MS);
      const pollsAtMidday = api.calls.retrieve;
      const progress = await handle.query(providerBatchProgressQuery);
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const status = worker.getStatus();
      await sleep(1000); // a second of real time: no poll runs meanwhile
      const midway = { pollsAtMidday, pollsAfterASecond: api.calls.retrieve, progress, pending, status };
      return { result: await handle.result(), midway };
    });
    const realMs = Date.now() - realStart;
    const skippedMs = await runTimeMs(env, [workflowId]);

    // Midway: the poll's last attempt has ended and the next waits on the server's retry timer. The dev
    // server shows such an activity as SCHEDULED (see longPoll.test.ts); the Java test server keeps it
    // STARTED until the timer fires, so what is checked is that the last attempt completed.
    expect(midway.pending).toHaveLength(1);
    const [poll] = midway.pending;
    expect(poll?.activityType?.name).toBe('pollProviderBatch');
    expect(poll?.attempt).toBeGreaterThan(1);
    expect(tsMs(poll?.lastAttemptCompleteTime)).toBeGreaterThanOrEqual(tsMs(poll?.lastStartedTime));
    expect(poll?.lastFailure?.applicationFailureInfo).toMatchObject({ type: 'ProviderBatchPending' });
    expect(tsMs({ seconds: poll?.lastFailure?.applicationFailureInfo?.nextRetryDelay?.seconds })).toBe(
      production.maxMs,
    );
    // Nothing runs on the worker, and a second of real time brings no poll.
    expect(midway.status.numInFlightActivities).toBe(0);
    expect(midway.pollsAfterASecond).toBe(midway.pollsAtMidday);
    // Half the schedule's polls fall in the first 12 h (30 s doubling, then every 10 min).
    expect(midway.pollsAtMidday).toBe(pollSchedule(12 * HOUR_MS).filter((t) => t <= 12 * HOUR_MS).length);
    // Progress is the provider's request_counts, as of the last report.
    expect(midway.progress).toMatchObject({ status: 'in_progress', providerBatchId: api.batches[0]?.id });
    expect(midway.progress.requestCounts.completed).toBeGreaterThan(0);
    expect(midway.progress.requestCounts.completed).toBeLessThan(lines.length);

    expect(result).toMatchObject({
      status: 'completed',
      polls: expectedPolls,
      requestCounts: { total: 500, completed: 500 },
      summary: { succeeded: 500, remaining: 0 },
    });
    expect(api.calls.create).toBe(1);
    expect(api.calls.retrieve).toBe(expectedPolls);
    // Every wait was the schedule's: the server honoured nextRetryDelay on each attempt.
    const times = pollTimes.get(api.batches[0]?.id as string) ?? [];
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const wanted = pollSchedule(DAY_MS)
      .slice(1)
      .map((t, i) => t - (pollSchedule(DAY_MS)[i] as number));
    for (const [i, gap] of gaps.entries()) {
      expect(gap).toBeGreaterThanOrEqual(wanted[i] as number);
      expect(gap).toBeLessThan((wanted[i] as number) + 5_000);
    }
    expect(skippedMs).toBeGreaterThanOrEqual(DAY_MS);
    expect(skippedMs).toBeLessThan(DAY_MS + HOUR_MS);

    const events = await historyLength(env, workflowId);
    expect(events).toBeLessThan(100 + 2 * expectedPolls);
    expect(events).toBeLessThanOrEqual(FIXED_EVENTS + 2 * expectedPolls);
    expect(await collect(store.streamResults(input.batchId))).toHaveLength(500);
    console.log(
      `[time-skipping] 24 h provider batch: ${result.polls} polls, ${events} history events (budget ` +
        `${100 + 2 * expectedPolls}), ` +
        `${(skippedMs / HOUR_MS).toFixed(2)} h of server time in ${realMs} ms real`,
    );
  });

  it('one activity slot carries four day-long provider batches at once: waiting holds no slot', async () => {
    const { api, pollTimes } = dayLongProvider(env);
    const store = new MemoryStore();
    const inputs = await Promise.all([0, 1, 2, 3].map((k) => providerBatchInput(store, chatLines(50, `slot${k}`))));
    const { worker, taskQueue } = await nativeWorker(env, bundle, {
      openai: api.client,
      store,
      maxConcurrentActivityTaskExecutions: 1,
    });
    const results = await worker.runUntil(async () => {
      const handles = await Promise.all(
        inputs.map((input) =>
          env.client.workflow.start(providerBatchWorkflow, {
            workflowId: providerBatchWorkflowId(input.batchId, 0, 0),
            taskQueue,
            args: [input],
          }),
        ),
      );
      // One result at a time: each result() unlocks the test server's global time-skipping lock, and
      // concurrent unlocks unbalance it (the server then lets its clock run away).
      const out: ProviderBatchResult[] = [];
      for (const h of handles) out.push(await h.result());
      return out;
    });
    const skippedMs = await runTimeMs(
      env,
      inputs.map((i) => providerBatchWorkflowId(i.batchId, 0, 0)),
    );
    expect(results.map((r) => [r.status, r.summary?.succeeded])).toEqual(inputs.map(() => ['completed', 50]));
    // Had a wait held the slot, the four days would have run one after another.
    expect(skippedMs).toBeLessThan(DAY_MS + HOUR_MS);
    expect(api.calls.create).toBe(4);
    // Each on the full production schedule, none delayed by another's wait.
    expect([...pollTimes.values()].map((t) => t.length)).toEqual(inputs.map(() => pollSchedule(DAY_MS).length));
    console.log(
      `[time-skipping] 4 provider batches on 1 activity slot: ${(skippedMs / HOUR_MS).toFixed(2)} h of server time`,
    );
  });
});
