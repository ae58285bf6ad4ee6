/**
 * A three-step pipeline over 1,000 items, with 5% transient provider errors, and the worker killed with
 * SIGKILL twice while items are between their steps. A step whose answer is recorded is never asked
 * again: the next attempt renders the following step from what the steps store holds.
 */
import type { BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import { pipelineStepsId, type Pipeline, type PipelineItem } from '../../src/shared/pipelines';
import { stepBody } from '../helpers/pipelines';
import { collect, engineEnv, killHard, RawResultCounter, readRawResults, useHarness } from './harness';

const TOTAL = 1000;
const MAX_CHUNKS_IN_FLIGHT = 4;
const ITEM_CONCURRENCY = 8;
/** Kill the worker when this many step answers are recorded (3 per item). */
const KILL_AT_STEPS = [0.2, 0.5].map((f) => f * 3 * TOTAL);
/**
 * A kill can make a second successful call only for a request in flight when the worker died (answered, not
 * yet recorded): at most chunks in flight × items in flight per chunk, per kill.
 */
const DUPLICATE_SUCCESS_BOUND = KILL_AT_STEPS.length * MAX_CHUNKS_IN_FLIGHT * ITEM_CONCURRENCY;

const PIPELINE: Pipeline = {
  steps: [
    {
      name: 'headline',
      endpoint: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'A headline about {{item.topic}}.' }] },
      outputSchema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
    },
    {
      name: 'intro',
      endpoint: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'An intro for "{{steps.headline.json.title}}" ({{item.topic}}).' }],
      },
    },
    {
      name: 'tweet',
      endpoint: '/v1/responses',
      body: { model: 'gpt-4o-mini', input: 'A tweet announcing: {{steps.intro.text}}' },
    },
  ],
};

const { h, markPassed } = useHarness({
  name: 'pipeline-kill',
  sim: { latencyMedianMs: 15, latencyP99Ms: 45, errorRate: 0.05 },
  workerEnv: engineEnv(MAX_CHUNKS_IN_FLIGHT, ITEM_CONCURRENCY),
});

describe('a pipeline whose worker is killed with SIGKILL between steps', () => {
  it('every item once, each step asked from its own earlier answers, no recorded step asked again', async () => {
    const items: PipelineItem[] = Array.from({ length: TOTAL }, (_, i) => ({ custom_id: `it-${i}`, topic: `t${i}` }));
    const { base } = await h.startApi();
    const res = await fetch(`${base}/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...PIPELINE, items, options: { maxAttempts: 10 } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const steps = new RawResultCounter(h.resultsDir(pipelineStepsId(id)));
    const itemResults = new RawResultCounter(h.resultsDir(id));

    const kills: { steps: number; items: number; signal: string | null }[] = [];
    for (const at of KILL_AT_STEPS) {
      await h.waitFor(`${at} step answers`, async () => (await steps.count()) >= at, 180_000, 50);
      const victim = h.worker;
      kills.push({ steps: await steps.count(), items: await itemResults.count(), signal: null });
      await killHard(victim);
      kills[kills.length - 1]!.signal = victim.process.signalCode;
      await h.startWorker();
    }
    let progress: BatchProgress | undefined;
    await h.waitFor(
      'the pipeline to end',
      async () => {
        progress = (await (await fetch(`${base}/batches/${id}`)).json()) as BatchProgress;
        return progress.status !== 'running';
      },
      300_000,
      500,
    );
    const stats = h.sim.stats();

    expect(kills.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    // Killed mid-run, with items part-way through their steps.
    for (const k of kills) expect(k.items).toBeLessThan(TOTAL);
    expect(progress).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL, failed: 0 });
    expect(progress?.steps).toEqual({
      headline: { succeeded: TOTAL, failed: 0 },
      intro: { succeeded: TOTAL, failed: 0 },
      tweet: { succeeded: TOTAL, failed: 0 },
    });

    // Item results exactly once (the store's view), and every step's answer recorded once.
    const results = await collect(h.store.streamResults(id));
    expect(results.map((r) => r.custom_id).sort()).toEqual(items.map((i) => i.custom_id).sort());
    const rawSteps = await readRawResults(h.resultsDir(pipelineStepsId(id)));
    expect(rawSteps.perId.size).toBe(3 * TOTAL);

    // At the simulator: each item's step 2 was sent the body rendered from its own step 1 answer, step 3 from
    // its step 2, and no other body: 3 distinct bodies per item, whatever the kills and retries.
    const byId = new Map(results.map((r): [string, BatchOutputLine] => [r.custom_id, r]));
    for (const item of items) {
      const line = byId.get(item.custom_id)!;
      for (const [index, step] of PIPELINE.steps.entries()) {
        const calls = h.sim.callsForBody(stepBody(PIPELINE, index, item, line), step.endpoint);
        expect(calls.successes).toBeGreaterThanOrEqual(1);
      }
    }
    expect(stats.bodies.distinct).toBe(3 * TOTAL);
    // A recorded step is never asked again: repeats only for calls in flight at a kill.
    expect(stats.bodies.duplicateSuccesses).toBeLessThanOrEqual(DUPLICATE_SUCCESS_BOUND);
    expect(stats.faults.errors).toBeGreaterThan(0);
    console.log(JSON.stringify({ kills, duplicateSuccesses: stats.bodies.duplicateSuccesses, faults: stats.faults }));
    markPassed();
  }, 600_000);
});
