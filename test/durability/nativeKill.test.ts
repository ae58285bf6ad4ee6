/**
 * kill -9 the worker process during each phase of a native batch's provider batches, starting a new
 * worker each time: while the provider's answer to an upload is on its way, while the answer to a
 * create is (the provider batch exists; the worker has not heard), while the provider batches run
 * (once between polls, once in the middle of a poll's GET), and while their output is being collected
 * (part of it already in the store).
 *
 * A proxy between the workers and the simulator holds those answers and trickles the downloads, so
 * each phase lasts long enough to be hit. What must hold: one provider batch per child workflow (a
 * retried create finds the one its lost answer made, and makes no second POST), each body processed
 * once by the provider, every custom_id exactly once in the store and never appended twice, and a
 * poll cut off by the kill resumes within seconds (its heartbeat timeout), not after a minute.
 */
import { temporal } from '@temporalio/proto';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import { batchWorkflowId, type BatchLine } from '../../src/shared/contracts';
import { providerBatchWorkflowId, type NativeBatchResult } from '../../src/shared/native';
import {
  chatLines,
  expectEveryIdOnce,
  killHard,
  ProviderProxy,
  readRawResults,
  useHarness,
  type Harness,
} from './harness';

const TOTAL = 6000;
const CHUNK_SIZE = 100;
/** Three provider batches of 2,000 lines, run side by side. */
const PLAN_LINES = 2000;
const PLANS = TOTAL / PLAN_LINES;
/**
 * Provider batches crawl (2,000 lines would take 400 s) until both polling phases have been hit, however
 * long the worker restarts take on a busy machine; then they are sped up to finish in seconds.
 */
const PROVIDER_LINES_PER_SECOND = 5;
const PROVIDER_LINES_PER_SECOND_AFTER_POLLS = 500;
/** A poll whose worker dies mid-GET must be retried on the heartbeat timeout (10 s), not after startToClose (1 min). */
const POLL_RESUME_BOUND_SECONDS = 40;

const { PendingActivityState } = temporal.api.enums.v1;

const { h, markPassed } = useHarness({
  name: 'native-kill',
  sim: { batchLinesPerSecond: PROVIDER_LINES_PER_SECOND },
  workers: 0,
});
let proxy: ProviderProxy;

beforeAll(async () => {
  proxy = await ProviderProxy.start(h.sim.url, {
    upload: { method: 'POST', path: /^\/v1\/files$/, holdMs: 1500 },
    create: { method: 'POST', path: /^\/v1\/batches$/, holdMs: 1500 },
    // About 1.2 MB of output per provider batch: 6 s each.
    download: { method: 'GET', path: /^\/v1\/files\/[^/]+\/content$/, bytesPerSecond: 200 * 1024 },
    // A poll's GET held long enough to kill a worker in the middle of one.
    retrieve: { method: 'GET', path: /^\/v1\/batches\/[^/]+$/, holdMs: 2000 },
  });
  h.providerUrl = proxy.url;
  await h.startWorker();
}, 180_000);
afterAll(async () => {
  await proxy?.close();
});

/** This batch's provider batches in the simulator's batch list (asked directly, not through the proxy). */
async function providerBatches(harness: Harness, batchId: string): Promise<Batch[]> {
  const direct = new OpenAI({ baseURL: harness.sim.url, apiKey: 'sk-durability', maxRetries: 0 });
  const out: Batch[] = [];
  for await (const b of direct.batches.list({ limit: 100 })) if (b.metadata?.llmbatch_batch === batchId) out.push(b);
  return out;
}

/** What each child workflow has pending, from the server (no worker needed): `type:STATE@attempt`. */
async function childActivities(batchId: string): Promise<Record<string, string[]>> {
  const client = await h.client();
  const out: Record<string, string[]> = {};
  for (let k = 0; k < PLANS; k++) {
    const id = providerBatchWorkflowId(batchId, k, 0);
    const d = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (!d) continue;
    out[`pb-${k}`] = (d.raw.pendingActivities ?? []).map((a) => {
      const state = (PendingActivityState[a.state ?? 0] ?? '?').replace('PENDING_ACTIVITY_STATE_', '');
      return `${a.activityType?.name}:${state}@${a.attempt}`;
    });
  }
  return out;
}

/** Results recorded per plan (chunks of plan k are k·20 … k·20+19). */
async function recordedPerPlan(batchId: string): Promise<number[]> {
  const perPlan = PLAN_LINES / CHUNK_SIZE;
  const counts: number[] = [];
  for (let k = 0; k < PLANS; k++) {
    let n = 0;
    for (let c = k * perPlan; c < (k + 1) * perPlan; c++) n += (await h.store.getChunkResults(batchId, c)).size;
    counts.push(n);
  }
  return counts;
}

describe('worker killed with SIGKILL in each phase of native mode', () => {
  it('upload, create, polling, collection: one provider batch per child, every custom_id exactly once', async () => {
    const lines: BatchLine[] = chatLines(TOTAL, 'nk');
    const t0 = Date.now();
    const { batchId } = await h.startNativeBatch(lines, {
      chunkSize: CHUNK_SIZE,
      input: {
        limits: { maxLines: PLAN_LINES },
        poll: { initialMs: 300, coefficient: 1.5, maxMs: 1500, reportEvery: 3 },
      },
    });

    /** A provider batch still running whose child is in its poll loop, the poll in `state`. */
    const pollingIn = async (state: string): Promise<boolean> => {
      const running = (await providerBatches(h, batchId)).filter((b) => b.status === 'in_progress');
      if (running.length === 0) return false;
      const pending = await childActivities(batchId);
      return running.some((b) =>
        (pending[`pb-${String(b.metadata?.llmbatch_id).split('-pb-')[1]}`] ?? []).some((a) =>
          a.startsWith(`pollProviderBatch:${state}`),
        ),
      );
    };
    const phases: { phase: string; when: () => Promise<boolean> }[] = [
      { phase: 'upload', when: async () => proxy.inFlight('upload') > 0 },
      { phase: 'create', when: async () => proxy.inFlight('create') > 0 },
      {
        // Between polls: nothing of ours at the provider, the poll a retry timer on the server.
        phase: 'polling, between polls',
        when: async () =>
          ['upload', 'create', 'download', 'retrieve'].every((r) => proxy.pendingPaths(r).length === 0) &&
          (await pollingIn('SCHEDULED')),
      },
      {
        // In a poll: its GET answered by the provider, the answer held.
        phase: 'polling, during a poll',
        when: async () => proxy.inFlight('retrieve') > 0 && (await pollingIn('STARTED')),
      },
      {
        // A download under way and some plan part-way into the store.
        phase: 'collection',
        when: async () =>
          proxy.inFlight('download') > 0 && (await recordedPerPlan(batchId)).some((n) => n > 0 && n < PLAN_LINES),
      },
    ];

    const kills: Record<string, unknown>[] = [];
    let pollResumeSeconds: number | undefined;
    for (const { phase, when } of phases) {
      await h.waitFor(`the ${phase} phase`, when, 180_000, 50);
      const victim = h.worker;
      const polling = proxy.pendingPaths('retrieve');
      await killHard(victim);
      const killedAt = Date.now();
      // What was under way when it died, for the log.
      const [pending, recorded, batches] = await Promise.all([
        childActivities(batchId),
        recordedPerPlan(batchId),
        providerBatches(h, batchId),
      ]);
      await h.startWorker();
      if (phase === 'polling, during a poll') {
        // The provider batches whose GET died with the worker: when is each polled again?
        await h.waitFor(
          'the interrupted polls to resume',
          () => polling.every((p) => proxy.log.some((e) => e.path === p && e.at > killedAt)),
          120_000,
          100,
        );
        pollResumeSeconds = Math.max(
          ...polling.map(
            (p) => ((proxy.log.find((e) => e.path === p && e.at > killedAt)?.at ?? Infinity) - killedAt) / 1000,
          ),
        );
        h.sim.configure({ batchLinesPerSecond: PROVIDER_LINES_PER_SECOND_AFTER_POLLS });
      }
      kills.push({
        phase,
        atSeconds: (killedAt - t0) / 1000,
        exitSignal: victim.process.signalCode,
        pending,
        recorded,
        providerBatches: batches.map((b) => `${b.status}:${b.request_counts?.completed}/${b.request_counts?.total}`),
        pollsInFlight: polling.length,
        newWorkerReadySeconds: (Date.now() - killedAt) / 1000,
      });
    }
    expect(kills.map((k) => k.exitSignal)).toEqual(phases.map(() => 'SIGKILL'));
    expect(pollResumeSeconds).toBeLessThan(POLL_RESUME_BOUND_SECONDS);

    const client = await h.client();
    const result = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as NativeBatchResult;
    const durationSeconds = (Date.now() - t0) / 1000;
    expect(result).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 });
    expect(result.providerBatches.map((e) => [e.round, e.last?.status, e.summary?.remaining])).toEqual(
      Array.from({ length: PLANS }, () => [0, 'completed', 0]),
    );

    // The provider's view: exactly one provider batch per child workflow, and no body processed twice.
    const batches = await providerBatches(h, batchId);
    const perChild = new Map<string, number>();
    for (const b of batches)
      perChild.set(String(b.metadata?.llmbatch_id), (perChild.get(String(b.metadata?.llmbatch_id)) ?? 0) + 1);
    expect([...perChild].sort()).toEqual(
      Array.from({ length: PLANS }, (_, k) => [providerBatchWorkflowId(batchId, k, 0), 1]),
    );
    expect(h.sim.stats().bodies).toMatchObject({ distinct: TOTAL, duplicates: 0 });
    // The creates whose answers died with the worker were found by metadata: no second POST /v1/batches.
    expect(proxy.requests('create')).toBe(PLANS);
    // The kills did land in the upload and the collection: both ran again.
    expect(proxy.requests('upload')).toBeGreaterThan(PLANS);
    expect(proxy.requests('download')).toBeGreaterThan(PLANS);

    // The store: every custom_id exactly once, each a success; the raw log holds none twice.
    await expectEveryIdOnce(h, batchId, lines);
    const raw = await readRawResults(h.resultsDir(batchId));
    expect(raw.perId.size).toBe(TOTAL);
    expect(raw.duplicatedIds).toEqual([]);

    console.log(
      `[native-kill] ${JSON.stringify(
        {
          durationSeconds,
          kills,
          uploads: proxy.requests('upload'),
          creates: proxy.requests('create'),
          downloads: proxy.requests('download'),
          retrieves: proxy.requests('retrieve'),
          pollResumeSeconds,
          rawLines: raw.lines,
          tornLines: raw.torn,
          polls: result.providerBatches.map((e) => e.last?.polls),
          workers: h.workers.length,
        },
        null,
        1,
      )}`,
    );
    markPassed();
  }, 400_000);
});
