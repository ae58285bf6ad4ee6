/**
 * The response cache end to end: the API, a dev server, a worker and the simulator, whose /_sim/stats counts the calls.
 */
import OpenAI, { toFile } from 'openai';
import type { BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

const stack = useApiStack();

type Result = {
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: unknown;
};

const providerCalls = async (): Promise<number> =>
  ((await (await fetch(`${stack.sim.origin}/_sim/stats`)).json()) as { total: number }).total;
const ndjson = (lines: BatchLine[]): string => lines.map((l) => JSON.stringify(l)).join('\n');

async function create(lines: BatchLine[], cache?: boolean): Promise<string> {
  const options = { mode: 'realtime', ...(cache === undefined ? {} : { cache }) };
  const res = await fetch(`${stack.base}/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requests: lines, options }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function createNdjson(lines: BatchLine[], query: string): Promise<Response> {
  return fetch(`${stack.base}/batches?mode=realtime&${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: ndjson(lines),
  });
}

async function finished(id: string): Promise<Record<string, unknown>> {
  for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const progress = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as Record<string, unknown>;
    if (progress.status !== 'running') return progress;
  }
  throw new Error(`batch ${id} did not finish`);
}

async function results(id: string): Promise<Map<string, Result>> {
  const text = await (await fetch(`${stack.base}/batches/${id}/results`)).text();
  return new Map(
    text
      .trim()
      .split('\n')
      .map((l) => [(JSON.parse(l) as Result).custom_id, JSON.parse(l) as Result]),
  );
}

/** Runs a batch to its end; how many provider calls it made, its progress and its results. */
async function run(start: () => Promise<string>) {
  const before = await providerCalls();
  const id = await start();
  const progress = await finished(id);
  return { calls: (await providerCalls()) - before, progress, results: await results(id) };
}

describe('response cache across batches', () => {
  const lines = chatLines(500, 'rev');

  it('answers the same 500-line batch again from the cache: no provider call, no cost, the same bodies', async () => {
    const first = await run(() => create(lines, true));
    expect(first.calls).toBe(500);
    expect(first.progress).toMatchObject({ status: 'completed', succeeded: 500, cacheHits: 0 });
    expect(first.progress.costUsd).toBeGreaterThan(0);

    const second = await run(() => create(lines, true));
    expect(second.calls).toBe(0);
    expect(second.progress).toMatchObject({
      status: 'completed',
      succeeded: 500,
      failed: 0,
      cacheHits: 500,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
    });
    expect(second.results.size).toBe(500);
    for (const line of lines) {
      const [a, b] = [first.results.get(line.custom_id), second.results.get(line.custom_id)];
      expect(b?.response?.request_id).toMatch(/^llmbatch-cache:/);
      expect(b?.response?.body).toEqual(a?.response?.body);
    }
  });

  it('takes the option as an NDJSON query parameter (cache=true, cache=false) and refuses other values', async () => {
    const some = lines.slice(0, 20); // cached by the test above, or by the first run here when run alone
    await run(() => create(some, true));
    const cached = await run(async () => {
      const res = await createNdjson(some, 'cache=true');
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    });
    expect([cached.calls, cached.progress.cacheHits]).toEqual([0, 20]);

    const optedOut = await run(
      async () => ((await (await createNdjson(some, 'cache=false')).json()) as { id: string }).id,
    );
    expect([optedOut.calls, optedOut.progress.cacheHits]).toEqual([20, 0]);

    expect((await createNdjson(some, 'cache=yes')).status).toBe(400);
  });

  it('takes the option as /v1 metadata llmbatch_cache', async () => {
    const openai = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    const some = lines.slice(20, 30);
    await run(() => create(some, true));
    const file = await openai.files.create({
      file: await toFile(Buffer.from(ndjson(some)), 'in.jsonl'),
      purpose: 'batch',
    });
    const cached = await run(
      async () =>
        (
          await openai.batches.create({
            input_file_id: file.id,
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
            metadata: { llmbatch_mode: 'realtime', llmbatch_cache: 'true' },
          })
        ).id,
    );
    expect([cached.calls, cached.progress.cacheHits]).toEqual([0, 10]);
    await expect(
      openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { llmbatch_cache: 'on' },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('never serves a temperature-0.7 line without the option: each run calls the provider', async () => {
    const warm: BatchLine[] = [
      {
        custom_id: 'warm',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', temperature: 0.7, messages: [{ role: 'user', content: 'a poem' }] },
      },
    ];
    const runs = [await run(() => create(warm)), await run(() => create(warm))];
    expect(runs.map((r) => [r.calls, r.progress.cacheHits, r.progress.succeeded])).toEqual([
      [1, 0, 1],
      [1, 0, 1],
    ]);
  });

  it('serves a temperature-0 line from the cache without the option', async () => {
    const cold: BatchLine[] = [
      {
        custom_id: 'cold',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'a fact' }] },
      },
    ];
    const runs = [await run(() => create(cold)), await run(() => create(cold))];
    expect(runs.map((r) => [r.calls, r.progress.cacheHits])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });
});
