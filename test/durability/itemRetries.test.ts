/**
 * An item's retries are its own: kill -9 the worker three times during a batch whose provider fails
 * 5.5% of calls (5xx and hung calls), with maxAttempts 2. A killed worker's chunk attempts are re-run
 * without spending any item's budget, so an item may become a `retries_exhausted` dead letter only
 * when the simulator failed its own calls twice. (When attempts were counted per chunk activity, a
 * chunk whose first attempt died had one attempt left, and an item failing once in it was lost; a
 * chunk killed after a failed attempt failed the whole batch: this test stalls on that code.)
 */
import { batchWorkflowId, type BatchWorkflowResult } from '../../src/shared/contracts';
import { isSuccess } from '../../src/storage/types';
import { chatLines, collect, engineEnv, killHard, RawResultCounter, useHarness } from './harness';

const TOTAL = 4_000;
const CHUNK_SIZE = 50;
const MAX_CHUNKS_IN_FLIGHT = 16;
const ITEM_CONCURRENCY = 4;
const MAX_ATTEMPTS = 2;
/** Kill the worker when this fraction of the results is recorded. */
const KILL_AT = [0.2, 0.45, 0.7];

const { h, markPassed } = useHarness({
  name: 'item-retries',
  sim: { latencyMedianMs: 20, latencyP99Ms: 60, errorRate: 0.05, hangRate: 0.005 },
  // A hung call ends at the request timeout and counts as a failure of that item. Far above the
  // simulator's latency, so that on a busy machine only the simulator's own faults fail a call.
  workerEnv: { ...engineEnv(MAX_CHUNKS_IN_FLIGHT, ITEM_CONCURRENCY), LLMBATCH_REQUEST_TIMEOUT_MS: '5000' },
});

describe('worker killed repeatedly under provider faults', () => {
  it('dead-letters only items whose own calls failed maxAttempts times at the simulator', async () => {
    const lines = chatLines(TOTAL, 'ir');
    const t0 = Date.now();
    const { batchId } = await h.startBatch(lines, {
      chunkSize: CHUNK_SIZE,
      maxChunksInFlight: MAX_CHUNKS_IN_FLIGHT,
      maxAttempts: MAX_ATTEMPTS,
    });
    const counter = new RawResultCounter(h.resultsDir(batchId));

    const kills: { atRecorded: number; atSeconds: number; exitSignal: string | null }[] = [];
    for (const fraction of KILL_AT) {
      await h.waitFor(
        `${fraction * 100}% of results`,
        async () => (await counter.count()) >= fraction * TOTAL,
        60_000,
        100,
      );
      const victim = h.worker;
      const atRecorded = await counter.count();
      await killHard(victim);
      kills.push({ atRecorded, atSeconds: (Date.now() - t0) / 1000, exitSignal: victim.process.signalCode });
      await h.startWorker();
    }
    expect(kills.map((k) => k.exitSignal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    for (const k of kills) expect(k.atRecorded).toBeLessThan(TOTAL);

    const client = await h.client();
    const result = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchWorkflowResult;
    expect(result).toMatchObject({ status: 'completed', total: TOTAL, pending: 0 });

    const results = await collect(h.store.streamResults(batchId));
    expect(new Set(results.map((r) => r.custom_id)).size).toBe(TOTAL);
    const deadLetters = results.filter((r) => !isSuccess(r));
    expect(deadLetters.every((r) => r.error?.code === 'retries_exhausted')).toBe(true);
    expect(result.failed).toBe(deadLetters.length);

    // At the simulator: how each item's own calls went. A call cut short by a kill is neither a
    // success nor a fault of that item (a hung call in flight at a kill is a fault the worker never saw).
    const bodyOf = new Map(lines.map((l) => [l.custom_id, l.body]));
    const calls = lines.map((l) => ({ id: l.custom_id, ...h.sim.callsForBody(l.body) }));
    const cutShort = calls.reduce((n, c) => n + c.calls - c.successes - c.faults, 0);
    const faultsOfDeadLetters = deadLetters.map((r) => h.sim.callsForBody(bodyOf.get(r.custom_id)).faults);
    expect(faultsOfDeadLetters.filter((f) => f < MAX_ATTEMPTS)).toEqual([]);

    const stats = h.sim.stats();
    console.log(
      `[item-retries] ${JSON.stringify({
        durationSeconds: (Date.now() - t0) / 1000,
        kills,
        faults: stats.faults,
        deadLetters: deadLetters.length,
        faultsOfDeadLetters,
        itemsFaultedAtLeastTwice: calls.filter((c) => c.faults >= MAX_ATTEMPTS).length,
        callsCutShortByKills: cutShort,
      })}`,
    );
    markPassed();
  }, 150_000);
});
