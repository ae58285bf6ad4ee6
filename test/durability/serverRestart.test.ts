/**
 * Restart the Temporal dev server mid-batch on the same SQLite file and port: once gracefully
 * (SIGTERM to its process group) and once harshly (SIGKILL). The worker process is left alone; if
 * the SDK's worker dies with the server, a new one is started and the test says so.
 */
import { batchWorkflowId, type BatchWorkflowResult } from '../../src/shared/contracts';
import {
  chatLines,
  engineEnv,
  RawResultCounter,
  readRawResults,
  sleep,
  expectEveryIdOnce,
  useHarness,
} from './harness';

const TOTAL = 8_000;
const CHUNK_SIZE = 100;
const MAX_CHUNKS_IN_FLIGHT = 4;
const ITEM_CONCURRENCY = 8;
/** When this fraction of results is recorded, stop the server with this signal and start it again. */
const RESTARTS = [
  { at: 0.25, signal: 'SIGTERM' as const },
  { at: 0.6, signal: 'SIGKILL' as const },
];
/** How long the server stays down: longer than a gRPC reconnect attempt, so the worker sees the outage. */
const DOWN_MS = 3_000;

const { h, markPassed } = useHarness({
  name: 'server-restart',
  sim: { latencyMedianMs: 20, latencyP99Ms: 60 },
  workerEnv: engineEnv(MAX_CHUNKS_IN_FLIGHT, ITEM_CONCURRENCY),
});

describe('Temporal dev server restarted mid-batch on the same database file', () => {
  it('resumes the batch and completes it with every custom_id exactly once', async () => {
    const lines = chatLines(TOTAL, 'sr');
    const t0 = Date.now();
    const { batchId } = await h.startBatch(lines, { chunkSize: CHUNK_SIZE, maxChunksInFlight: MAX_CHUNKS_IN_FLIGHT });
    const counter = new RawResultCounter(h.resultsDir(batchId));
    const firstWorker = h.worker;

    const restarts: {
      signal: string;
      atRecorded: number;
      atSeconds: number;
      serverExit: string | number | null;
      downSeconds: number;
      workerSurvived: boolean;
      recordedWhenBack: number;
    }[] = [];
    for (const { at, signal } of RESTARTS) {
      await h.waitFor(`${at * 100}% of results`, async () => (await counter.count()) >= at * TOTAL, 180_000, 100);
      const atRecorded = await counter.count();
      const old = h.server;
      const stoppedAt = Date.now();
      await h.stopServer(signal);
      await sleep(DOWN_MS);
      await h.startServer(); // same --db-filename, same port
      const downSeconds = (Date.now() - stoppedAt) / 1000;
      const recordedWhenBack = await counter.count();
      // Give a dying worker time to die before judging whether it survived.
      await sleep(5_000);
      const workerSurvived = h.worker.running;
      if (!workerSurvived) await h.startWorker();
      restarts.push({
        signal,
        atRecorded,
        atSeconds: (stoppedAt - t0) / 1000,
        serverExit: old?.process.signalCode ?? old?.process.exitCode ?? null,
        downSeconds,
        workerSurvived,
        recordedWhenBack,
      });
    }

    // A fresh connection: the old one's channel saw the server go away twice.
    const client = await h.client(true);
    const result = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchWorkflowResult;
    const durationSeconds = (Date.now() - t0) / 1000;
    const stats = h.sim.stats();

    expect(result).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 });
    for (const r of restarts) expect(r.atRecorded).toBeLessThan(TOTAL);

    await expectEveryIdOnce(h, batchId, lines);
    const raw = await readRawResults(h.resultsDir(batchId));
    expect(raw.perId.size).toBe(TOTAL);
    expect(stats.bodies.distinct).toBe(TOTAL);
    // No worker dies here; at worst an attempt whose completion was lost with the server is re-run,
    // and it skips what is recorded, so only items in flight at a restart could be called twice.
    expect(stats.bodies.duplicateSuccesses).toBeLessThanOrEqual(
      RESTARTS.length * MAX_CHUNKS_IN_FLIGHT * ITEM_CONCURRENCY,
    );

    console.log(
      `[server-restart] ${JSON.stringify(
        {
          durationSeconds,
          restarts,
          sameWorkerThroughout: h.workers.length === 1 && firstWorker.running,
          workersStarted: h.workers.length,
          duplicateSuccesses: stats.bodies.duplicateSuccesses,
          rawLines: raw.lines,
          rawDuplicatedIds: raw.duplicatedIds.length,
          tornLines: raw.torn,
        },
        null,
        1,
      )}`,
    );
    markPassed();
  }, 300_000);
});
