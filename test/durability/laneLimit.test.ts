/**
 * A lane's cross-worker limit changes at runtime through the API (Temporal's task-queue config),
 * with two worker processes running and no restart, and clears back to the workers' start-up limit.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { batchWorkflowId, cancelSignal } from '../../src/shared/contracts';
import { chatCounts, chatLines, sleep, useHarness } from './harness';

const CHUNK = 10;
const STARTUP_RPM = 1200;
const RUNTIME_RPM = 4800;
const WINDOW_MS = 15_000;
const LANE = { endpoint: '/v1/chat/completions', model: 'gpt-4o-mini' };

const { h, markPassed } = useHarness({
  name: 'lane-limit',
  workers: 2,
  workerEnv: {
    LLMBATCH_LANES: JSON.stringify([{ ...LANE, rpm: STARTUP_RPM }]),
    LLMBATCH_CHUNK_SIZE: String(CHUNK),
    LLMBATCH_ITEM_CONCURRENCY: '8',
  },
});

let server: Server | undefined;
afterAll(() => server?.close());

/** Successful calls per second over one window. */
async function rate(): Promise<number> {
  const before = chatCounts(h.sim).ok;
  await sleep(WINDOW_MS);
  return (chatCounts(h.sim).ok - before) / (WINDOW_MS / 1000);
}

interface LaneView {
  model: string | null;
  limit: { source: string; chunksPerSecond: number | null };
}

describe('lane limits at runtime', () => {
  it('PUT /lanes/limits changes the limit every worker obeys, without a restart, and null clears it', async () => {
    const config = loadConfig({ ...h.workerEnv(), LLMBATCH_AUTH: 'local' });
    server = createApp({ client: await h.client(), store: h.store, config }).listen(0, '127.0.0.1');
    await new Promise((r) => server?.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lane = async (): Promise<LaneView> =>
      ((await (await fetch(`${base}/lanes`)).json()) as { data: LaneView[] }).data.find(
        (l) => l.model === LANE.model,
      ) as LaneView;
    const put = (body: unknown) =>
      fetch(`${base}/lanes/limits`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const { batchId } = await h.startBatch(chatLines(20_000, 'lane'), {
      chunkSize: CHUNK,
      maxChunksInFlight: 40,
      lane: config.lanes[0],
    });
    await h.waitFor('first result', () => chatCounts(h.sim).ok > 0, 60_000, 100);
    expect(await lane()).toMatchObject({ limit: { source: 'worker' } });
    await sleep(2000);
    const atStartup = await rate();

    const res = await put({ ...LANE, rpm: RUNTIME_RPM });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ limit: { source: 'api' } });
    await sleep(2000);
    const atRuntime = await rate();

    expect((await put({ ...LANE, rpm: null, tpm: null })).status).toBe(200);
    expect(await lane()).toMatchObject({ limit: { source: 'worker' } });
    expect((await put({ endpoint: '/v1/embeddings', model: 'nope', rpm: 10 })).status).toBe(404);
    expect((await put({ model: 'gpt-4o-mini', rpm: 10 })).status).toBe(400);

    const handle = (await h.client()).workflow.getHandle(batchWorkflowId(batchId));
    await handle.signal(cancelSignal);
    await handle.result();
    console.log(
      `lane limit: ${atStartup.toFixed(1)} req/s at ${STARTUP_RPM} RPM (start-up), ${atRuntime.toFixed(1)} req/s ` +
        `after PUT ${RUNTIME_RPM} RPM`,
    );
    // Each window stays under its limit (plus the server's one-second burst) and the raised one is used.
    expect(atStartup).toBeLessThanOrEqual((STARTUP_RPM / 60) * 1.1);
    expect(atStartup).toBeGreaterThanOrEqual((STARTUP_RPM / 60) * 0.7);
    expect(atRuntime).toBeLessThanOrEqual((RUNTIME_RPM / 60) * 1.1);
    expect(atRuntime).toBeGreaterThanOrEqual((RUNTIME_RPM / 60) * 0.7);
    markPassed();
  }, 120_000);
});
