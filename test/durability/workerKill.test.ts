/**
 * kill -9 the worker process three times during a 10,000-item batch, starting a new worker each
 * time. Temporal notices each dead worker through the chunk activity's heartbeat timeout and re-runs
 * its chunks on the new worker; the chunk activity skips what the store already holds.
 */
import OpenAI from 'openai';
import { batchWorkflowId, type BatchLine, type BatchWorkflowResult } from '../../src/shared/contracts';
import {
  chatLines,
  engineEnv,
  killHard,
  RawResultCounter,
  readRawResults,
  expectEveryIdOnce,
  useHarness,
} from './harness';

const TOTAL = 10_000;
const CHUNK_SIZE = 100;
const MAX_CHUNKS_IN_FLIGHT = 4;
const ITEM_CONCURRENCY = 8;
/** Kill the worker when this fraction of the results is recorded. */
const KILL_AT = [0.2, 0.45, 0.7];
/**
 * A kill can only cause a second successful provider call for an item whose request was in flight
 * (answered by the provider, result not yet appended) when the worker died. At most
 * MAX_CHUNKS_IN_FLIGHT chunks run at once, each with at most ITEM_CONCURRENCY requests in flight:
 * 3 × 4 × 8 = 96 items.
 */
const DUPLICATE_SUCCESS_BOUND = KILL_AT.length * MAX_CHUNKS_IN_FLIGHT * ITEM_CONCURRENCY;

const { h, markPassed } = useHarness({
  name: 'worker-kill',
  sim: { latencyMedianMs: 20, latencyP99Ms: 60 },
  workerEnv: engineEnv(MAX_CHUNKS_IN_FLIGHT, ITEM_CONCURRENCY),
});

describe('worker killed with SIGKILL mid-batch', () => {
  it('each custom_id once, deterministic answers, duplicate provider calls bounded by items in flight', async () => {
    const lines = chatLines(TOTAL, 'wk');
    const t0 = Date.now();
    const { batchId } = await h.startBatch(lines, { chunkSize: CHUNK_SIZE, maxChunksInFlight: MAX_CHUNKS_IN_FLIGHT });
    const counter = new RawResultCounter(h.resultsDir(batchId));

    const kills: {
      atRecorded: number;
      atSeconds: number;
      pid?: number;
      exitSignal: string | null;
      newWorkerReadySeconds: number;
    }[] = [];
    for (const fraction of KILL_AT) {
      await h.waitFor(
        `${fraction * 100}% of results`,
        async () => (await counter.count()) >= fraction * TOTAL,
        180_000,
        100,
      );
      const victim = h.worker;
      const atRecorded = await counter.count();
      await killHard(victim);
      const killedAt = Date.now();
      await h.startWorker();
      kills.push({
        atRecorded,
        atSeconds: (killedAt - t0) / 1000,
        pid: victim.process.pid,
        exitSignal: victim.process.signalCode,
        newWorkerReadySeconds: (Date.now() - killedAt) / 1000,
      });
    }
    expect(kills.map((k) => k.exitSignal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    // Each kill happened mid-batch, not after the end.
    for (const k of kills) expect(k.atRecorded).toBeLessThan(TOTAL);

    const client = await h.client();
    const result = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchWorkflowResult;
    const durationSeconds = (Date.now() - t0) / 1000;
    // Read before the direct calls below, which call some bodies once more on purpose.
    const stats = h.sim.stats();

    expect(result).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 });

    // The store's view: every custom_id exactly once, all successes.
    const results = await expectEveryIdOnce(h, batchId, lines);

    // The raw append-only log: whatever it holds twice (or torn by a kill), the store reads once.
    const raw = await readRawResults(h.resultsDir(batchId));
    expect(raw.perId.size).toBe(TOTAL);
    expect(raw.lines).toBeGreaterThanOrEqual(TOTAL);
    expect(raw.lines - TOTAL).toBe(raw.duplicatedIds.reduce((n, id) => n + (raw.perId.get(id) ?? 0) - 1, 0));

    // Every body reached the provider; repeats are bounded by what was in flight at the kills.
    expect(stats.bodies.distinct).toBe(TOTAL);
    expect(stats.bodies.duplicateSuccesses).toBeLessThanOrEqual(DUPLICATE_SUCCESS_BOUND);

    const byId = new Map(results.map((r) => [r.custom_id, r]));
    // Same body, same answer: ask the simulator directly for a sample and compare.
    const direct = new OpenAI({ baseURL: h.sim.url, apiKey: 'sk-durability', maxRetries: 0 });
    for (let i = 0; i < TOTAL; i += 997) {
      const line = lines[i] as BatchLine;
      const expected = await direct.chat.completions.create(line.body as never);
      expect((byId.get(line.custom_id)?.response?.body as { choices: unknown }).choices).toEqual(expected.choices);
    }

    console.log(
      `[worker-kill] ${JSON.stringify(
        {
          durationSeconds,
          kills,
          duplicateSuccesses: stats.bodies.duplicateSuccesses,
          duplicateSuccessBound: DUPLICATE_SUCCESS_BOUND,
          bodiesCalledMoreThanOnce: stats.bodies.duplicates,
          abortedRequests: stats.requests['/v1/chat/completions']?.aborted ?? 0,
          rawLines: raw.lines,
          rawDuplicatedIds: raw.duplicatedIds.length,
          tornLines: raw.torn,
          workers: h.workers.length,
        },
        null,
        1,
      )}`,
    );
    markPassed();
  }, 360_000);
});
