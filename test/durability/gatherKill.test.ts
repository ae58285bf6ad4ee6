/**
 * Gathered single requests survive the API: a real API process accepts 1,000 requests with `wait=0` (202 each) and
 * is killed with SIGKILL the moment the last is accepted, with most of them still waiting in the gatherer or in
 * batches not yet run. A second API process, started afterwards, answers every one of them with its own answer.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requestDigest } from '../../src/provider/canonical';
import type { RequestView } from '../../src/shared/gather';
import { killHard, useHarness } from './harness';

const N = 1000;
const CONNECTIONS = 100;
const { h, markPassed } = useHarness({
  name: 'gather-kill',
  // Slow enough that the batches are still running when the API dies.
  sim: { latencyMedianMs: 1000, latencyP99Ms: 1500 },
  workerEnv: { LLMBATCH_GATHER_MAX_ITEMS: '100', LLMBATCH_GATHER_MAX_WAIT_MS: '200' },
});

const body = (i: number) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `kill question ${i}` }] });
const answerPrefix = (i: number): string =>
  `chatcmpl-${requestDigest('/v1/chat/completions', body(i)).toString('hex').slice(0, 16)}`;

/** Runs `each` for 0..n-1 on `lanes` concurrent lanes. */
async function inLanes<T>(n: number, lanes: number, each: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < n; i += lanes) out[i] = await each(i);
    }),
  );
  return out;
}

/** Of these requests: how many the store shows in no batch yet, and in a batch not ended yet. */
async function unfinished(ids: string[]): Promise<{ unflushed: number; running: number }> {
  const counts = { unflushed: 0, running: 0 };
  await Promise.all(
    ids.map(async (id) => {
      const batchId = await readFile(join(h.dir, 'requests', `${id}.batch`), 'utf8').catch(() => undefined);
      if (batchId === undefined) counts.unflushed += 1;
      else if ((await h.store.getOutcome(batchId)) === undefined) counts.running += 1;
    }),
  );
  return counts;
}

async function call(base: string, method: string, path: string, json?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as RequestView };
}

it('loses no request accepted with wait=0 when the API is killed right after: a new API answers them all', async () => {
  const first = await h.startApi();
  const accepted = await inLanes(N, CONNECTIONS, (i) =>
    call(first.base, 'POST', '/requests?wait=0', { body: body(i), custom_id: `k-${i}` }),
  );
  await killHard(first.child);
  expect(accepted.filter((r) => r.status !== 202)).toEqual([]);
  const atKill = await unfinished(accepted.map((r) => r.body.id));

  const second = await h.startApi();
  const answered = await inLanes(N, CONNECTIONS, (i) =>
    call(second.base, 'GET', `/requests/${accepted[i]!.body.id}?wait=60s`),
  );
  const own = answered.filter((r, i) => {
    const id = (r.body.response?.body as { id?: string } | undefined)?.id ?? '';
    return r.status === 200 && r.body.custom_id === `k-${i}` && id.startsWith(answerPrefix(i));
  });
  const batches = new Set(answered.map((r) => r.body.batch_id));
  console.log(
    `gather kill: ${N} accepted; when the API was killed ${atKill.unflushed} were not in a batch yet and ` +
      `${atKill.running} in batches still running; ` +
      `${own.length} answered by the next API, in ${batches.size} batches`,
  );
  // The kill landed while many were still on their way.
  expect(atKill.unflushed + atKill.running).toBeGreaterThan(N / 5);
  expect(own.length).toBe(N);
  markPassed();
}, 180_000);
