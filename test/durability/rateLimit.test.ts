/**
 * The rate limit holds across workers: simulator at 6,000 RPM and a lane (gpt-4o-mini chat) set to
 * 6,000 RPM, measured over a 60 s window with one worker process and with three.
 */
import { batchWorkflowId, cancelSignal } from '../../src/shared/contracts';
import { loadConfig } from '../../src/config';
import { chatCounts, chatLines, Harness, sleep } from './harness';

const RPM = 6000;
const WINDOW_MS = 60_000;

async function measure(workers: number): Promise<{ ok: number; limited: number; all: number }> {
  const lanes = JSON.stringify([{ endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', rpm: RPM }]);
  const h = new Harness({ name: `ratelimit-${workers}`, sim: { rpm: RPM, seed: workers }, workerEnv: { LLMBATCH_LANES: lanes, LLMBATCH_ITEM_CONCURRENCY: '16' } });
  let passed = false;
  try {
    await h.start({ workers });
    const [lane] = loadConfig(h.workerEnv()).lanes;
    const { batchId } = await h.startBatch(chatLines(9000, 'rl'), { chunkSize: 100, maxChunksInFlight: 30, lane });
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

describe('rate limit across worker processes (a lane → its task queue’s server-side rate limit)', () => {
  it.each([1, 3])('with %i worker process(es): at least 90%% of 6,000 RPM over 60 s, under 1%% answered 429', async (workers) => {
    const { ok, limited, all } = await measure(workers);
    console.log(`rate limit, ${workers} worker(s): ${ok} ok, ${limited} answered 429 of ${all} calls in 60 s (${((ok / RPM) * 100).toFixed(1)}% of the limit)`);
    expect(ok).toBeGreaterThanOrEqual(0.9 * RPM);
    expect(limited).toBeLessThan(0.01 * all);
  }, 240_000);
});
