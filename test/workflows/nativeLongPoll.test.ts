/**
 * A provider batch that stays in_progress through its window, on a real dev server: the companion of
 * timeSkipping.test.ts, which runs the full 24 h on the time-skipping test server. This one shows
 * what only the real server shows: the waiting poll is SCHEDULED (the test server reports it STARTED
 * until its retry timer fires), and the wait carries on through a worker that is shut down and replaced.
 *
 * The dev server cannot skip time, so time is compressed instead: the fake provider finishes at
 * exactly the poll that the production schedule (30 s doubling to 10 min) makes at the end of the
 * window, and the test runs that schedule divided by 6,000. The dev server fires activity retry timers
 * about once a second at the fastest, so every poll costs a real second: a 2 h window (17 polls).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { BatchLine, BatchOutputLine } from '../../src/shared/contracts';
import {
  pollDelayMs,
  PollPolicySchema,
  providerBatchProgressQuery,
  providerBatchWorkflowId,
  type ProviderBatchInput,
} from '../../src/shared/native';
import { FileBatchStore } from '../../src/storage/fileStore';
import { providerBatchWorkflow } from '../../src/workflows';
import { chatLines } from '../helpers/fakes';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { collect, historyLength, nativeWorker, sleep } from '../helpers/native';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundlePath;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startDevServer(), bundleWorkflows()]);
});
afterAll(async () => {
  await env?.teardown();
});

const DAY_MS = 86_400_000;
const WINDOW_MS = 2 * 3_600_000;
const SCALE = 6000;
const production = PollPolicySchema.parse({});
/** History events of a provider batch apart from its polls (measured: see the test's log line). */
const FIXED_EVENTS = 30;

/** Polls the production schedule makes until the first one at or after 24 h (the first poll is at 0). */
function pollsInWindow(windowMs: number): number {
  let polls = 1;
  for (let t = 0; t < windowMs; polls++) t += pollDelayMs(production, polls);
  return polls;
}

it('the production schedule polls a 24 h window 149 times', () => {
  expect(pollsInWindow(DAY_MS)).toBe(149); // at 0, then after 30 s, 1, 2, 4, 8 min, then every 10 min
});

it(
  'a provider batch in progress through its window: polled on the schedule, history within 2 events per poll, no ' +
    'worker held while it waits',
  async () => {
    const polls = pollsInWindow(WINDOW_MS);
    expect(polls).toBe(17);

    const api = new FakeBatchApi();
    const lines: BatchLine[] = chatLines(1000, 'day');
    // In progress, a little further on every poll, until the poll that lands on the 24 h mark.
    api.onRetrieve = (b, call) => {
      const total = lines.length;
      if (call < polls) {
        Object.assign(b, {
          status: 'in_progress',
          request_counts: { total, completed: Math.floor((total * call) / polls), failed: 0 },
        });
        return;
      }
      const input = api.files.get(b.input_file_id)?.content ?? '';
      const answers: BatchOutputLine[] = input
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as BatchLine).custom_id)
        .map((id) => ({
          id: `batch_req_${id}`,
          custom_id: id,
          response: { status_code: 200, request_id: `req_${id}`, body: { answer: id } },
          error: null,
        }));
      const out = api.addFile(answers.map((a) => JSON.stringify(a)).join('\n'));
      Object.assign(b, {
        status: 'completed',
        output_file_id: out.id,
        request_counts: { total, completed: total, failed: 0 },
      });
    };

    const store = new FileBatchStore(await mkdtemp(join(tmpdir(), 'llmbatch-longpoll-')));
    const batchId = randomUUID();
    const m = await store.putInput(batchId, lines, 100);
    const poll = {
      initialMs: production.initialMs / SCALE,
      coefficient: production.coefficient,
      maxMs: production.maxMs / SCALE,
      reportEvery: production.reportEvery,
    };
    const input: ProviderBatchInput = {
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
      poll,
    };
    const workflowId = providerBatchWorkflowId(batchId, 0, 0);
    const first = await nativeWorker(env, bundle, { openai: api.client, store });
    const handle = await env.client.workflow.start(providerBatchWorkflow, {
      workflowId,
      taskQueue: first.taskQueue,
      args: [input],
    });

    // Halfway through the window, the worker goes away.
    const started = Date.now();
    const progress = await first.worker.runUntil(async () => {
      while (api.calls.retrieve < polls / 2) await sleep(20);
      // Progress comes from request_counts (a query needs a worker, so ask before it goes).
      return handle.query(providerBatchProgressQuery);
    });
    const halfwayMs = Date.now() - started;
    const pollsBefore = api.calls.retrieve;
    expect(progress).toMatchObject({ status: 'in_progress', providerBatchId: api.batches[0]?.id });
    expect(progress.requestCounts.completed).toBeGreaterThan(0);
    expect(progress.polls).toBeGreaterThan(0);

    // Between polls nothing runs anywhere: the poll activity is only scheduled (a retry timer on the server).
    await sleep(500);
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    expect(pending).toHaveLength(1);
    expect(pending[0]?.state).toBe(temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);
    expect(pending[0]?.attempt).toBeGreaterThan(1);
    expect(pending[0]?.lastFailure?.applicationFailureInfo?.type).toBe('ProviderBatchPending');
    expect(api.calls.retrieve).toBe(pollsBefore);

    // A new worker picks the wait up where it was.
    const second = await nativeWorker(env, bundle, { openai: api.client, store, taskQueue: first.taskQueue });
    const result = await second.worker.runUntil(handle.result());

    expect(result).toMatchObject({
      status: 'completed',
      polls,
      requestCounts: { total: 1000, completed: 1000 },
      summary: { succeeded: 1000, remaining: 0 },
    });
    expect(api.calls.retrieve).toBe(polls);
    expect(api.calls.create).toBe(1);
    const events = await historyLength(env, workflowId);
    expect(events).toBeLessThan(100 + 2 * polls);
    // Tighter, so that it holds at any length: a fixed part (start, upload, create, collect, end) and at
    // most 2 events per poll (a 6-event report per 3 polls or more).
    expect(events).toBeLessThanOrEqual(FIXED_EVENTS + 2 * polls);
    console.log(
      `provider batch: ${polls} polls, ${events} history events (acceptance budget ${100 + 2 * polls}); half the ` +
        `window took ${halfwayMs} ms`,
    );
    expect(await collect(store.streamResults(batchId))).toHaveLength(1000);
  },
);
