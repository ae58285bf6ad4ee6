/**
 * Scale-out with nothing shared but PostgreSQL and Temporal: the API and three workers run as real
 * processes, each with a data dir of its own and DATABASE_URL set. A 10,000-item realtime batch (two
 * workers killed with SIGKILL on the way) and a 6,000-item native one; then the concurrent-batch quota
 * across two API processes; then every connection to the database terminated mid-batch.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchOutputLine } from '../../src/shared/contracts';
import { isSuccess } from '../../src/storage/types';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { chatLines, killHard, useHarness } from './harness';

const REALTIME = 10_000;
const NATIVE = 6_000;
const KILL_AT = [0.25, 0.55];

const { h, markPassed } = useHarness({
  name: 'shared-nothing',
  workers: 0,
  sim: { latencyMedianMs: 20, latencyP99Ms: 60, batchLinesPerSecond: 2000 },
  workerEnv: {
    LLMBATCH_NATIVE_POLL_INITIAL_MS: '500',
    LLMBATCH_NATIVE_POLL_MAX_MS: '2000',
    LLMBATCH_MAX_CHUNKS_IN_FLIGHT: '8',
    LLMBATCH_ITEM_CONCURRENCY: '16',
  },
});
let db: TestDatabase;
let api: string;

beforeAll(async () => {
  db = await createTestDatabase();
  h.options.databaseUrl = db.url;
  for (let i = 0; i < 3; i++) await h.startWorker();
  api = (await h.startApi()).base;
}, 240_000);
afterAll(async () => {
  await db?.drop();
});

/** The fields of API answers these tests read. */
interface Answer {
  id: string;
  status: string;
  error: { code: string };
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Answer }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Answer };
}

async function create(base: string, lines: unknown[], options: Record<string, unknown> = {}): Promise<string> {
  const { status, json } = await call(base, 'POST', '/batches', { requests: lines, options });
  if (status !== 201 && status !== 200) throw new Error(`create: ${status} ${JSON.stringify(json)}`);
  return json.id;
}

const recorded = async (batchId: string): Promise<number> =>
  (await db.pool.query('SELECT count(*)::int AS n FROM results WHERE batch_id = $1', [batchId])).rows[0].n;

async function results(batchId: string): Promise<BatchOutputLine[]> {
  const text = await (await fetch(`${api}/batches/${batchId}/results`)).text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
}

/** Every input custom_id exactly once, each a success, through the API's download. */
async function expectEveryIdOnce(batchId: string, ids: string[]): Promise<void> {
  const got = await results(batchId);
  expect(got.length).toBe(ids.length);
  expect(new Set(got.map((r) => r.custom_id)).size).toBe(ids.length);
  expect(got.map((r) => r.custom_id).sort()).toEqual([...ids].sort());
  expect(got.filter((r) => !isSuccess(r))).toEqual([]);
}

async function waitEnded(batchId: string, timeoutMs: number): Promise<Answer | undefined> {
  let last: Answer | undefined;
  await h.waitFor(
    `batch ${batchId} to end`,
    async () => {
      last = (await call(api, 'GET', `/batches/${batchId}`)).json;
      return ['completed', 'failed', 'cancelled'].includes(last?.status);
    },
    timeoutMs,
    500,
  );
  return last;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('API and three workers sharing only PostgreSQL', () => {
  it(
    'runs 10,000 realtime items through two worker kills and 6,000 native ones, each custom_id once, writing ' +
      'nothing to any data dir',
    async () => {
      const rtLines = chatLines(REALTIME, 'sn-rt');
      const nativeLines = chatLines(NATIVE, 'sn-nat');
      const realtime = await create(api, rtLines, { mode: 'realtime' });
      const native = await create(api, nativeLines, { mode: 'native' });

      const kills: Array<{ at: number; signal: string | null }> = [];
      for (const fraction of KILL_AT) {
        await h.waitFor(
          `${fraction * 100}% of the realtime results`,
          async () => (await recorded(realtime)) >= fraction * REALTIME,
          240_000,
          100,
        );
        const victim = h.workers[kills.length]!;
        const at = await recorded(realtime);
        await killHard(victim);
        kills.push({ at, signal: victim.process.signalCode });
        await h.startWorker();
      }
      expect(kills.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL']);
      for (const k of kills) expect(k.at).toBeLessThan(REALTIME);

      const rt = await waitEnded(realtime, 300_000);
      const nat = await waitEnded(native, 300_000);
      expect(rt).toMatchObject({ status: 'completed', total: REALTIME, succeeded: REALTIME, failed: 0 });
      expect(nat).toMatchObject({ status: 'completed', mode: 'native', total: NATIVE, succeeded: NATIVE, failed: 0 });
      await expectEveryIdOnce(
        realtime,
        rtLines.map((l) => l.custom_id),
      );
      await expectEveryIdOnce(
        native,
        nativeLines.map((l) => l.custom_id),
      );
      expect(await recorded(realtime)).toBe(REALTIME);
      expect(await recorded(native)).toBe(NATIVE);

      // Six processes so far (an API and five workers), each with its own data dir: all still empty.
      expect(h.dataDirs.length).toBe(6);
      for (const dir of h.dataDirs) expect(await filesUnder(dir)).toEqual([]);
      console.log(
        `[shared-nothing] kills at ${kills.map((k) => k.at).join(', ')} of ${REALTIME} results; ` +
          `${h.dataDirs.length} data dirs empty`,
      );
    },
    600_000,
  );

  it(
    'admits exactly 2 of 10 simultaneous creates across two API processes with a quota of 2, and frees a slot when ' +
      'a batch ends',
    async () => {
      // A task queue no worker polls: the admitted batches stay running for as long as the test needs.
      const env = { LLMBATCH_QUOTA_CONCURRENT_BATCHES: '2', TEMPORAL_TASK_QUEUE: `idle-${h.taskQueue}` };
      const apis = [(await h.startApi(env)).base, (await h.startApi(env)).base];
      const creates = Array.from({ length: 10 }, (_, i) =>
        call(apis[i % 2]!, 'POST', '/batches', { requests: chatLines(3, `quota-${i}`) }),
      );
      const answers = await Promise.all(creates);
      const admitted = answers.filter((a) => a.status === 201);
      expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 429, 429, 429, 429, 429, 429, 429, 429]);
      for (const a of answers.filter((x) => x.status === 429)) expect(a.json.error.code).toBe('quota_exceeded');

      // Ended from Temporal (no outcome written): the next create on either API finds it ended and takes its slot.
      await h.temporal(['workflow', 'terminate', '--workflow-id', `batch-${admitted[0]!.json.id}`, '--reason', 'test']);
      expect((await call(apis[1]!, 'POST', '/batches', { requests: chatLines(3, 'quota-after') })).status).toBe(201);
      expect((await call(apis[0]!, 'POST', '/batches', { requests: chatLines(3, 'quota-over') })).status).toBe(429);
    },
    240_000,
  );

  it('loses nothing when every database connection is terminated three times mid-batch', async () => {
    const lines = chatLines(5000, 'sn-term');
    const batchId = await create(api, lines);
    for (const fraction of [0.2, 0.45, 0.7]) {
      await h.waitFor(
        `${fraction * 100}% of the results`,
        async () => (await recorded(batchId)) >= fraction * lines.length,
        240_000,
        50,
      );
      const { rowCount } = await db.pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [db.name],
      );
      expect(rowCount).toBeGreaterThan(0);
    }
    const done = await waitEnded(batchId, 300_000);
    expect(done).toMatchObject({ status: 'completed', succeeded: lines.length, failed: 0 });
    await expectEveryIdOnce(
      batchId,
      lines.map((l) => l.custom_id),
    );
    for (const w of h.workers.slice(-3)) expect(w.running).toBe(true);
    markPassed();
  }, 400_000);
});
