/**
 * Modes through the API: native runs on the provider's Batch API, auto chooses and says why, and an auto batch whose
 * deadline nears finishes in realtime.
 */
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createApp } from '../../src/api/app';
import type { BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { SearchAttributeKeys } from '../../src/shared/searchAttributes';
import { chatLines } from '../helpers/fakes';

const WINDOW_MS = 3600; // LLMBATCH_NATIVE_WINDOW_HOURS=0.001: the provider's window, scaled down for the test
const RESERVE_MS = 1000;

const stack = useApiStack({
  LLMBATCH_AUTO_NATIVE_MIN_ITEMS: '100',
  LLMBATCH_NATIVE_WINDOW_HOURS: String(WINDOW_MS / 3_600_000),
  LLMBATCH_REALTIME_RESERVE_MS: String(RESERVE_MS),
  LLMBATCH_NATIVE_POLL_INITIAL_MS: '200',
  LLMBATCH_NATIVE_POLL_MAX_MS: '500',
});

beforeEach(() => stack.sim.configure({ batchLinesPerSecond: 1000 }));

type Progress = Record<string, unknown> & { status: string; mode: string; modeReason: string | null };

async function create(
  requests: BatchLine[],
  options: Record<string, unknown>,
): Promise<{ id: string; mode: string; modeReason: string | null }> {
  const res = await fetch(`${stack.base}/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requests, options }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; mode: string; modeReason: string | null };
}

async function finished(id: string): Promise<Progress> {
  for (let i = 0; i < 600; i++) {
    const p = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as Progress;
    if (p.status !== 'running') return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`batch ${id} did not finish`);
}

async function results(id: string): Promise<Array<{ custom_id: string; error: unknown }>> {
  return (await (await fetch(`${stack.base}/batches/${id}/results`)).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { custom_id: string; error: unknown });
}

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const providerBatches = async () =>
  (await new OpenAI({ baseURL: stack.sim.url, apiKey: 'sk-test' }).batches.list({ limit: 100 })).data;

describe('batch modes', () => {
  it('native: one provider batch, every item once, costed at the batch price', async () => {
    const before = (await providerBatches()).length;
    const lines: BatchLine[] = [
      ...chatLines(60, 'native'),
      {
        custom_id: 'broken',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [] },
      },
    ];
    const created = await create(lines, { mode: 'native' });
    expect(created).toMatchObject({ mode: 'native', modeReason: null });
    const p = await finished(created.id);
    expect(p).toMatchObject({ status: 'completed', mode: 'native', total: 61, succeeded: 60, failed: 1, pending: 0 });
    const price = stack.config.prices['gpt-4o-mini'] as { input: number; output: number };
    const full = ((p.tokensIn as number) * price.input + (p.tokensOut as number) * price.output) / 1e6;
    expect(p.costUsd).toBeCloseTo(full * 0.5, 6);
    const out = await results(created.id);
    expect(new Set(out.map((r) => r.custom_id)).size).toBe(61);
    expect((await providerBatches()).length).toBe(before + 1);
  });

  it(
    'native: priority reaches the provider batch and can be changed while it runs; the Web UI summary names the ' +
      'mode',
    async () => {
      stack.sim.configure({ batchLinesPerSecond: 20 }); // about 3 s of provider batch to act on
      const res = await fetch(`${stack.base}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requests: chatLines(60, 'prio'), priority: 2, options: { mode: 'native' } }),
      });
      const { id } = (await res.json()) as { id: string };
      const parent = stack.env.client.workflow.getHandle(`batch-${id}`);
      expect(await (await parent.describe()).staticSummary()).toBe('60 × gpt-4o-mini chat · native · tenant local');

      const child = stack.env.client.workflow.getHandle(`batch-${id}-pb-0`);
      for (let i = 0; i < 100 && !(await child.describe().catch(() => undefined)); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect((await child.describe()).raw.workflowExecutionInfo?.priority?.priorityKey).toBe(2);

      const set = await fetch(`${stack.base}/batches/${id}/priority`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ priority: 4 }),
      });
      expect(set.status).toBe(202);
      expect(((await (await fetch(`${stack.base}/batches/${id}`)).json()) as Progress).priority).toBe(4);
      expect(await finished(id)).toMatchObject({ status: 'completed', succeeded: 60, priority: 4 });
      // The native workflow keeps its search attributes current too (the new priority, the end).
      const attributes = (await parent.describe()).typedSearchAttributes;
      expect(attributes.get(SearchAttributeKeys.mode)).toBe('native');
      expect(attributes.get(SearchAttributeKeys.priority)).toBe(4);
      expect(attributes.get(SearchAttributeKeys.status)).toBe('completed');
    },
  );

  it('native as the configured default refuses a second model, naming its line, and creates nothing', async () => {
    const config = { ...stack.config, native: { ...stack.config.native, defaultMode: 'native' as const } };
    const server = createApp({ client: stack.env.client, store: stack.store, config }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const before = ((await (await fetch(`${base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;
      const requests = chatLines(3, 'mixed').map((l, i) => ({
        ...l,
        body: { ...l.body, model: i === 2 ? 'gpt-4o' : 'gpt-4o-mini' },
      }));
      const res = await fetch(`${base}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requests }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string; code: string } }).error).toMatchObject({
        code: 'mixed_models',
        message: expect.stringContaining('requests.2: model "gpt-4o" differs'),
      });
      expect(((await (await fetch(`${base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length).toBe(
        before,
      );
    } finally {
      server.close();
    }
  });

  it('auto: a small batch goes realtime, with the reason in progress', async () => {
    const created = await create(chatLines(20, 'small'), { mode: 'auto' });
    expect(created).toMatchObject({ mode: 'realtime', modeReason: expect.stringContaining('20 items, under the 100') });
    expect(await finished(created.id)).toMatchObject({
      status: 'completed',
      mode: 'realtime',
      succeeded: 20,
      modeReason: created.modeReason,
    });
  });

  it('auto: a large batch with a deadline well past the window goes native', async () => {
    const created = await create(chatLines(150, 'large'), { mode: 'auto', deadline: inMs(48 * 3_600_000) });
    expect(created).toMatchObject({ mode: 'native', modeReason: expect.stringContaining('leaves room') });
    expect(await finished(created.id)).toMatchObject({
      status: 'completed',
      mode: 'native',
      succeeded: 150,
      modeReason: created.modeReason,
    });
  });

  it('auto: a deadline too near for the window goes realtime', async () => {
    const created = await create(chatLines(150, 'near'), { mode: 'auto', deadline: inMs(2000) });
    expect(created).toMatchObject({ mode: 'realtime', modeReason: expect.stringContaining('too near') });
    expect(await finished(created.id)).toMatchObject({ status: 'completed', succeeded: 150 });
  });

  it('auto: a native batch that would miss its deadline cancels its provider batch, finishes in realtime', async () => {
    stack.sim.configure({ batchLinesPerSecond: 10 }); // the provider batch would take 20 s
    const created = await create(chatLines(200, 'deadline'), {
      mode: 'auto',
      deadline: inMs(WINDOW_MS + RESERVE_MS + 3000),
    });
    expect(created.mode).toBe('native');
    const p = await finished(created.id);
    expect(p).toMatchObject({
      status: 'completed',
      mode: 'native',
      succeeded: 200,
      failed: 0,
      modeReason: expect.stringContaining('the rest runs in realtime'),
    });
    const out = await results(created.id);
    expect(out).toHaveLength(200);
    expect(new Set(out.map((r) => r.custom_id)).size).toBe(200);
    const batch = (await providerBatches()).find((b) => b.metadata?.llmbatch_batch === created.id);
    expect(batch?.status).toBe('cancelled');
    // Some items came from the provider batch before the switch, the rest from realtime calls.
    expect(batch?.request_counts?.completed).toBeGreaterThan(0);
    expect(batch?.request_counts?.completed).toBeLessThan(200);
  });
});
