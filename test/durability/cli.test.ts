/**
 * The real Temporal CLI binary against a running batch: `workflow query --name progress` and
 * `workflow signal --name pause` / `--name resume` (the contract in src/shared/contracts.ts).
 */
import { batchWorkflowId, type BatchProgress, type BatchWorkflowResult } from '../../src/shared/contracts';
import { chatLines, engineEnv, RawResultCounter, sleep, expectEveryIdOnce, useHarness } from './harness';

const TOTAL = 1_000;
const CHUNK_SIZE = 50;
const MAX_CHUNKS_IN_FLIGHT = 2;
const ITEM_CONCURRENCY = 4;
/** How long provider calls must stay flat to count as stopped. */
const QUIET_MS = 3_000;

// Slow provider: ~8 requests in flight at ~150 ms each, so the batch runs for tens of seconds.
const { h, markPassed } = useHarness({
  name: 'cli',
  sim: { latencyMedianMs: 150, latencyP99Ms: 250 },
  workerEnv: engineEnv(MAX_CHUNKS_IN_FLIGHT, ITEM_CONCURRENCY),
});

async function cliProgress(workflowId: string): Promise<BatchProgress> {
  const out = await h.temporal(['workflow', 'query', '--workflow-id', workflowId, '--name', 'progress', '-o', 'json']);
  const parsed = JSON.parse(out) as { queryResult?: BatchProgress[] };
  const progress = parsed.queryResult?.[0];
  if (!progress) throw new Error(`no queryResult in: ${out}`);
  return progress;
}

const providerCalls = (): number => h.sim.stats().total;

describe('temporal CLI on a running batch', () => {
  it('queries progress, pauses (provider calls stop), resumes, and the batch completes exactly once', async () => {
    const lines = chatLines(TOTAL, 'cli');
    const t0 = Date.now();
    const { batchId } = await h.startBatch(lines, { chunkSize: CHUNK_SIZE, maxChunksInFlight: MAX_CHUNKS_IN_FLIGHT });
    const workflowId = batchWorkflowId(batchId);
    const counter = new RawResultCounter(h.resultsDir(batchId));
    await h.waitFor('the first results', async () => (await counter.count()) >= 60, 60_000);

    // temporal workflow query --name progress -o json
    const running = await cliProgress(workflowId);
    expect(running).toMatchObject({
      batchId,
      status: 'running',
      total: TOTAL,
      maxChunksInFlight: MAX_CHUNKS_IN_FLIGHT,
    });
    expect(running.pending).toBeGreaterThan(0);

    // temporal workflow signal --name pause
    const pausedAtCalls = providerCalls();
    const pauseSentAt = Date.now();
    await h.temporal(['workflow', 'signal', '--workflow-id', workflowId, '--name', 'pause']);
    let paused: BatchProgress | undefined;
    await h
      .waitFor(
        'the progress query to report status "paused" after the pause signal',
        async () => {
          paused = await cliProgress(workflowId);
          return paused.status === 'paused';
        },
        20_000,
        500,
      )
      .catch((err: unknown) => {
        throw new Error(`${String(err)}; last progress: ${JSON.stringify(paused)}`);
      });
    const secondsToPausedStatus = (Date.now() - pauseSentAt) / 1000;

    // Provider calls stop within a few seconds (in-flight chunks are cancelled through their heartbeats) ...
    let quietFrom = providerCalls();
    let quietSince = Date.now();
    await h.waitFor(
      `provider calls to stop after pause (${QUIET_MS} ms without a call)`,
      () => {
        const now = providerCalls();
        if (now !== quietFrom) {
          quietFrom = now;
          quietSince = Date.now();
        }
        return Date.now() - quietSince >= QUIET_MS;
      },
      15_000,
      250,
    );
    const secondsToQuiet = (quietSince - pauseSentAt) / 1000;
    // ... and stay stopped; nothing more is recorded while paused.
    const recordedWhilePaused = await counter.count();
    await sleep(QUIET_MS);
    expect(providerCalls()).toBe(quietFrom);
    expect(await counter.count()).toBe(recordedWhilePaused);
    expect(recordedWhilePaused).toBeLessThan(TOTAL);
    const stillPaused = await cliProgress(workflowId);
    expect(stillPaused).toMatchObject({ status: 'paused', chunksInFlight: 0, total: TOTAL });

    // temporal workflow signal --name resume: calls start again and the batch completes.
    await h.temporal(['workflow', 'signal', '--workflow-id', workflowId, '--name', 'resume']);
    await h.waitFor('provider calls to restart after resume', () => providerCalls() > quietFrom, 20_000);
    const client = await h.client();
    const result = (await client.workflow.getHandle(workflowId).result()) as BatchWorkflowResult;
    expect(result).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 });
    const done = await cliProgress(workflowId);
    expect(done).toMatchObject({ status: 'completed', succeeded: TOTAL });

    await expectEveryIdOnce(h, batchId, lines);

    const stats = h.sim.stats();
    console.log(
      `[cli] ${JSON.stringify(
        {
          durationSeconds: (Date.now() - t0) / 1000,
          recordedAtPause: recordedWhilePaused,
          providerCallsAtPauseSignal: pausedAtCalls,
          providerCallsWhilePaused: quietFrom,
          secondsToPausedStatus,
          secondsToQuiet,
          abortedByPause: stats.requests['/v1/chat/completions']?.aborted ?? 0,
          duplicateSuccesses: stats.bodies.duplicateSuccesses,
        },
        null,
        1,
      )}`,
    );
    markPassed();
  }, 240_000);
});
