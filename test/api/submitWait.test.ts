/**
 * Submit and wait (`POST /batches?wait=…`, src/api/submitWait.ts): results inline when the batch ends within
 * the wait (JSON and NDJSON), 202 with a Location when it does not (answered within the wait plus 1 s) and the
 * batch goes on, a client that disconnects does not cancel its batch, a retry grace (the workflow stays open
 * after the end) still answers at the end, native and too-large batches are not waited for, bad `wait` values
 * are 400 naming the parameter, and `llmbatch submit --wait` prints the summary of a small file.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INLINE_MAX_ITEMS, WaitParamSchema } from '../../src/api/schemas';
import { batchWorkflowId, type BatchLine, type BatchOutputLine } from '../../src/shared/contracts';
import type { WaitedBatchView, WaitingBatchView } from '../../src/shared/views';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';
import { fileIn, jsonl, runCli } from '../cli/cliRun';

const stack = useApiStack();

const ndjson = (lines: BatchLine[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const postJson = (query: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${stack.base}/batches${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    signal: init.signal,
  });
const postNdjson = (query: string, lines: BatchLine[]) =>
  fetch(`${stack.base}/batches${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: ndjson(lines),
  });
const parseLines = (text: string): BatchOutputLine[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
const resultsText = async (id: string): Promise<string> => (await fetch(`${stack.base}/batches/${id}/results`)).text();
const view = async (id: string) =>
  (await (await fetch(`${stack.base}/batches/${id}`)).json()) as { status: string; succeeded: number };
const sortedLines = (text: string): string[] => text.split('\n').filter(Boolean).sort();

async function until(id: string, status: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await view(id)).status !== status) {
    if (Date.now() > deadline) throw new Error(`batch ${id} not ${status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterEach(() => stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0, errorRate: 0 }));

describe('POST /batches?wait', () => {
  it('parses 30s, 1500ms, 1m and plain seconds', () => {
    const ms = (v: string) => WaitParamSchema.parse(v);
    expect([ms('30s'), ms('1500ms'), ms('1m'), ms('30'), ms('2.5'), ms('0')]).toEqual([
      30_000, 1500, 60_000, 30_000, 2500, 0,
    ]);
  });

  it('answers 200 with the results inline for a JSON request', async () => {
    const res = await postJson('?wait=30s', { requests: chatLines(10, 'json') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as WaitedBatchView;
    expect(res.headers.get('llmbatch-batch-id')).toBe(body.id);
    expect(res.headers.get('llmbatch-wait')).toBe('ended');
    expect(body).toMatchObject({ status: 'completed', total: 10, succeeded: 10, failed: 0 });
    expect(body.results).toHaveLength(10);
    // The same lines as GET /batches/:id/results.
    expect(body.results.map((l) => JSON.stringify(l)).sort()).toEqual(sortedLines(await resultsText(body.id)));
  });

  it('answers 200 with the results as NDJSON for an NDJSON request', async () => {
    const res = await postNdjson('?wait=30s', chatLines(10, 'nd'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const id = res.headers.get('llmbatch-batch-id') ?? '';
    expect(res.headers.get('llmbatch-batch-status')).toBe('completed');
    const text = await res.text();
    expect(
      parseLines(text)
        .map((l) => l.custom_id)
        .sort(),
    ).toEqual(
      chatLines(10, 'nd')
        .map((l) => l.custom_id)
        .sort(),
    );
    expect(sortedLines(text)).toEqual(sortedLines(await resultsText(id)));
  });

  it('answers 202 within the wait plus 1 s when the batch does not end, and the batch goes on', async () => {
    stack.sim.configure({ latencyMedianMs: 1000, latencyP99Ms: 1000 });
    const started = Date.now();
    // 4 chunks in flight (400 calls): the worker shares this process, and 1,600 calls at once lag its event loop.
    const res = await postJson('?wait=2s', { requests: chatLines(5000, 'big'), options: { maxChunksInFlight: 4 } });
    const elapsed = Date.now() - started;
    console.log(`5,000 items, 1 s latency, wait=2s: ${res.status} after ${elapsed} ms`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as WaitingBatchView;
    expect(elapsed).toBeLessThan(3000);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(res.headers.get('location')).toBe(`/batches/${body.id}`);
    expect(res.headers.get('llmbatch-wait')).toBe('timeout');
    expect(body).toMatchObject({ status: 'running', total: 5000, wait: 'timeout' });
    stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    await until(body.id, 'completed', 90_000);
    expect((await view(body.id)).succeeded).toBe(5000);
  }, 120_000);

  it('does not cancel the batch when the client disconnects during the wait', async () => {
    stack.sim.configure({ latencyMedianMs: 2500, latencyP99Ms: 2500 });
    const request = { requests: chatLines(20, 'gone') };
    const key = { 'idempotency-key': `gone-${Date.now()}` };
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1000);
    await expect(postJson('?wait=30s', request, { headers: key, signal: abort.signal })).rejects.toThrow();
    // The same request again (its Idempotency-Key): the batch the first one created, waited for to its end.
    const res = await postJson('?wait=30s', request, { headers: key });
    expect(res.status).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect((await res.json()) as WaitedBatchView).toMatchObject({ status: 'completed', succeeded: 20 });
  }, 60_000);

  it('answers at the end of a batch kept open by a retry grace', async () => {
    stack.config.batch.retryGraceMs = 600_000; // read per request, by the plan and by the wait
    stack.sim.configure({ errorRate: 0.5 });
    try {
      const res = await postNdjson('?wait=30s&max_attempts=1', chatLines(20, 'grace'));
      expect(res.status).toBe(200);
      const id = res.headers.get('llmbatch-batch-id') ?? '';
      const lines = parseLines(await res.text());
      expect(lines).toHaveLength(20);
      expect(lines.some((l) => l.error !== null)).toBe(true);
      const described = await stack.env.client.workflow.getHandle(batchWorkflowId(id)).describe();
      expect(described.status.name).toBe('RUNNING'); // the grace: open, though ended
      await fetch(`${stack.base}/batches/${id}/cancel`, { method: 'POST' });
    } finally {
      stack.config.batch.retryGraceMs = 0;
    }
  }, 60_000);

  it('does not wait for a native batch', async () => {
    const res = await postJson('?wait=30s', { requests: chatLines(5, 'native'), options: { mode: 'native' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('llmbatch-wait')).toBe('native');
    const body = (await res.json()) as WaitingBatchView;
    expect(body).toMatchObject({ mode: 'native', wait: 'native', waitedMs: 0 });
    await fetch(`${stack.base}/batches/${body.id}/cancel`, { method: 'POST' });
  });

  it('does not wait for a batch that starts later (notBefore)', async () => {
    const notBefore = new Date(Date.now() + 3_600_000).toISOString();
    const started = Date.now();
    const res = await postJson('?wait=30s', { requests: chatLines(5, 'later'), options: { notBefore } });
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(10_000);
    const body = (await res.json()) as WaitingBatchView;
    expect(body).toMatchObject({ status: 'scheduled', wait: 'scheduled', waitedMs: 0 });
    await fetch(`${stack.base}/batches/${body.id}/cancel`, { method: 'POST' });
  });

  it(`does not wait for a batch over ${INLINE_MAX_ITEMS} items`, async () => {
    const res = await postNdjson('?wait=30s', chatLines(INLINE_MAX_ITEMS + 1, 'large'));
    expect(res.status).toBe(202);
    const body = (await res.json()) as WaitingBatchView;
    expect(body).toMatchObject({ wait: 'too_large', total: INLINE_MAX_ITEMS + 1 });
    await fetch(`${stack.base}/batches/${body.id}/cancel`, { method: 'POST' });
  }, 60_000);

  it.each(['abc', '61s', '2m', '-1', '10h', '60001ms'])('refuses wait=%s with 400 naming the parameter', async (w) => {
    const newest = async () =>
      ((await (await fetch(`${stack.base}/batches?limit=1`)).json()) as { data: Array<{ id: string }> }).data[0]?.id;
    const before = await newest();
    for (const res of [
      await postJson(`?wait=${w}`, { requests: chatLines(2, 'bad') }),
      await postNdjson(`?wait=${w}`, chatLines(2, 'bad')),
    ]) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^invalid query: wait: /);
    }
    expect(await newest()).toBe(before); // nothing was created
  });
});

describe('llmbatch submit --wait', () => {
  it('waits in the API for a small file and prints the summary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmbatch-wait-'));
    const file = await fileIn(dir, 'small.jsonl', jsonl(chatLines(5, 'cli')));
    const run = await runCli(['submit', file, '--wait'], stack.base);
    expect(run.stderr).toBe('');
    const [first, second, last] = run.stdout.trim().split('\n');
    expect(first).toMatch(/^batch batch_\w+: 5 requests, realtime$/);
    expect(second).toMatch(/^ended within the wait, in [\d.]+ s; results: npm run llmbatch -- results batch_\w+$/);
    expect(last).toMatch(/\] 5\/5 \(5 ok, 0 failed\) completed$/);
    expect(run.code).toBe(0);
  }, 60_000);
});
