/**
 * The rate limit holds across workers: simulator at 6,000 RPM and LLMBATCH_RPM=6000,
 * measured over a 60 s window with one worker process and with three.
 */
import type { Simulator } from '../../src/provider';
import { batchWorkflowId, cancelSignal } from '../../src/shared/contracts';
import { chatLines, Harness, sleep } from './harness';

const RPM = 6000;
const WINDOW_MS = 60_000;

function chatCounts(sim: Simulator): { ok: number; limited: number; all: number } {
  const byStatus = sim.stats().requests['/v1/chat/completions'] ?? {};
  return { ok: byStatus['200'] ?? 0, limited: byStatus['429'] ?? 0, all: Object.values(byStatus).reduce((a, b) => a + b, 0) };
}

async function measure(workers: number): Promise<{ ok: number; limited: number; all: number }> {
  const h = new Harness({ name: `ratelimit-${workers}`, sim: { rpm: RPM, seed: workers }, workerEnv: { LLMBATCH_RPM: String(RPM), LLMBATCH_ITEM_CONCURRENCY: '16' } });
  let passed = false;
  try {
    await h.start();
    for (let i = 0; i < workers; i++) await h.startWorker();
    const { batchId } = await h.startBatch(chatLines(9000, 'rl'), { chunkSize: 100, maxChunksInFlight: 30 });
    await h.waitFor('first result', () => chatCounts(h.sim).ok > 0, 60_000, 100);
    await sleep(3000); // past the start-up burst
    const before = chatCounts(h.sim);
    await sleep(WINDOW_MS);
    const after = chatCounts(h.sim);
    const handle = (await h.client()).workflow.getHandle(batchWorkflowId(batchId));
    await handle.signal(cancelSignal);
    await handle.result();
    passed = true;
    return { ok: after.ok - before.ok, limited: after.limited - before.limited, all: after.all - before.all };
  } finally {
    await h.shutdown(!passed); // keep the logs of a run that failed
  }
}

describe('rate limit across worker processes (LLMBATCH_RPM → Temporal task-queue rate limit)', () => {
  it.each([1, 3])('with %i worker(s): at least 90%% of 6,000 RPM over 60 s, under 1%% answered 429', async (workers) => {
    const { ok, limited, all } = await measure(workers);
    console.log(`rate limit, ${workers} worker(s): ${ok} ok, ${limited} answered 429 of ${all} calls in 60 s (${((ok / RPM) * 100).toFixed(1)}% of the limit)`);
    expect(ok).toBeGreaterThanOrEqual(0.9 * RPM);
    expect(limited).toBeLessThan(0.01 * all);
  }, 240_000);
});
