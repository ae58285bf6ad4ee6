/**
 * POST /pipelines end to end: the API, a dev server, a worker and the simulator. Each item's later steps are
 * rendered from its earlier steps' answers; the simulator, whose answers are a pure function of the body,
 * shows which bodies it was sent.
 */
import type { BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import type { Pipeline, PipelineItem } from '../../src/shared/pipelines';
import { INVALID_OUTPUT_MARKER } from '../../src/provider';
import { useApiStack } from '../helpers/apiStack';
import { stepBody } from '../helpers/pipelines';

const stack = useApiStack();

/** The README's example: a headline (structured), then an intro written from it. */
const HEADLINE_INTRO: Pipeline = {
  steps: [
    {
      name: 'headline',
      endpoint: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Write a headline about {{item.topic}}.' }],
      },
      outputSchema: {
        type: 'object',
        properties: { title: { type: 'string', minLength: 3 } },
        required: ['title'],
        additionalProperties: false,
      },
    },
    {
      name: 'intro',
      endpoint: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'Write a two-sentence intro for the article "{{steps.headline.json.title}}".' },
        ],
      },
    },
  ],
};

const items = (n: number, prefix: string): PipelineItem[] =>
  Array.from({ length: n }, (_, i) => ({ custom_id: `${prefix}${i}`, topic: `topic "${i}"\nwith a newline` }));

async function post(body: unknown): Promise<Response> {
  return fetch(`${stack.base}/pipelines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Polls until the batch leaves the given statuses (by default, until it is no longer running). */
async function finished(id: string, passing = ['running']): Promise<BatchProgress> {
  for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 300))) {
    const progress = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as BatchProgress;
    if (!passing.includes(progress.status)) return progress;
  }
  throw new Error(`batch ${id} did not finish`);
}

async function results(id: string): Promise<Map<string, BatchOutputLine>> {
  const text = await (await fetch(`${stack.base}/batches/${id}/results`)).text();
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
  return new Map(lines.map((l) => [l.custom_id, l]));
}

const errorOf = async (res: Response): Promise<string> =>
  ((await res.json()) as { error: { message: string } }).error.message;
const listBatches = async (): Promise<number> =>
  ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;

describe('POST /pipelines', () => {
  test('headline → intro: each intro is asked from its own headline, once; results carry both steps', async () => {
    const input = items(60, 'p');
    const res = await post({ ...HEADLINE_INTRO, items: input });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; mode: string; modeReason: string };
    expect(created.mode).toBe('realtime');
    expect(created.modeReason).toMatch(/pipelines run in realtime mode/);
    const progress = await finished(created.id);
    expect(progress).toMatchObject({ status: 'completed', succeeded: 60, failed: 0 });
    expect(progress.steps).toEqual({ headline: { succeeded: 60, failed: 0 }, intro: { succeeded: 60, failed: 0 } });
    const lines = await results(created.id);
    expect(lines.size).toBe(60);
    for (const item of input) {
      const line = lines.get(item.custom_id)!;
      expect(Object.keys(line.steps ?? {})).toEqual(['headline', 'intro']);
      expect(line.response).toEqual(line.steps?.intro);
      for (const index of [0, 1]) {
        const calls = stack.sim.callsForBody(stepBody(HEADLINE_INTRO, index, item, line));
        expect(calls.successes).toBe(1);
      }
    }
    expect(progress.tokensIn).toBeGreaterThan(0);
  }, 180_000);

  test("a step's dead letter stops its item and names the step; later steps are never sent", async () => {
    const pipeline: Pipeline = {
      steps: [{ ...HEADLINE_INTRO.steps[0]!, repairAttempts: 1 }, HEADLINE_INTRO.steps[1]!],
    };
    const input = [...items(5, 'ok'), { custom_id: 'bad', topic: `forever wrong ${INVALID_OUTPUT_MARKER}` }];
    const before = stack.sim.stats().total;
    const res = await post({ ...pipeline, items: input });
    const { id } = (await res.json()) as { id: string };
    const progress = await finished(id);
    expect(progress).toMatchObject({ succeeded: 5, failed: 1, invalidOutput: 1, repaired: 1 });
    expect(progress.steps).toEqual({ headline: { succeeded: 5, failed: 1 }, intro: { succeeded: 5, failed: 0 } });
    const bad = (await results(id)).get('bad')!;
    expect(bad.error?.code).toBe('invalid_output');
    expect(bad.error?.message).toMatch(/^step headline: /);
    expect(bad.llmbatch?.step).toBe('headline');
    expect(bad.steps).toEqual({});
    // 5 items × 2 steps, and the bad item's headline and its one repair.
    expect(stack.sim.stats().total - before).toBe(12);

    // Its dead letter retried: a pipeline of the same steps holding only the dead item.
    const retry = await fetch(`${stack.base}/batches/${id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(201);
    const again = (await retry.json()) as { id: string; total: number; modeReason: string };
    expect(again).toMatchObject({ total: 1, modeReason: expect.stringMatching(/pipelines run in realtime/) });
    expect(await finished(again.id)).toMatchObject({ failed: 1, steps: { headline: { succeeded: 0, failed: 1 } } });
    expect((await results(again.id)).get('bad')?.llmbatch?.step).toBe('headline');
  }, 120_000);

  test('takes notBefore and a run window: scheduled, then paused for its window, with no step sent', async () => {
    const before = stack.sim.stats().total;
    const hhmm = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString().slice(11, 16);
    const window = { start: hhmm(2), end: hhmm(3), timezone: 'UTC' };
    const notBefore = new Date(Date.now() + 1500).toISOString();
    const res = await post({ ...HEADLINE_INTRO, items: items(3, 'w'), options: { notBefore, window } });
    expect(res.status).toBe(201);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe('scheduled');
    const paused = await finished(id, ['running', 'scheduled']);
    expect(paused).toMatchObject({ status: 'paused', pauseReason: 'window', notBefore, window: { open: false } });
    expect(stack.sim.stats().total).toBe(before);
    await fetch(`${stack.base}/batches/${id}/cancel`, { method: 'POST' });
  }, 60_000);

  const bad = (over: Record<string, unknown>) => ({ ...HEADLINE_INTRO, items: items(2, 'x'), ...over });
  const step = (i: number, patch: Record<string, unknown>) => {
    const steps = HEADLINE_INTRO.steps.map((s) => ({ ...s }));
    steps[i] = { ...steps[i]!, ...patch };
    return { steps };
  };
  test.each([
    ['a pipeline of 0 steps', bad({ steps: [] }), /steps: a pipeline needs at least 1 step/],
    [
      'over 20 steps',
      bad({ steps: Array.from({ length: 21 }, (_, i) => ({ ...HEADLINE_INTRO.steps[1]!, name: `s${i}` })) }),
      /steps: a pipeline has at most 20 steps/,
    ],
    [
      'an unknown reference',
      bad(step(1, { body: { model: 'm', messages: [{ role: 'user', content: '{{steps.title.text}}' }] } })),
      /step intro, \{\{steps\.title\.text\}\}: no step named title \(at body\.messages\[0\]\.content\)/,
    ],
    [
      'a forward reference',
      bad(step(0, { body: { model: 'm', messages: [{ role: 'user', content: '{{steps.intro.text}}' }] } })),
      /step headline, .*forward reference: step intro runs after step headline/,
    ],
    [
      'a step referencing itself (a cycle)',
      bad(step(1, { body: { model: 'm', messages: [{ role: 'user', content: '{{steps.intro.text}}' }] } })),
      /step intro, .*a step cannot reference itself/,
    ],
    [
      'a schema that does not compile',
      bad(step(0, { outputSchema: { type: 'objekt' } })),
      /steps\.0 \(headline\): outputSchema: not a valid JSON Schema/,
    ],
    [
      'an item without a referenced field',
      bad({ items: [{ custom_id: 'a' }] }),
      /items\.0: no value for \{\{item\.topic\}\} \(step headline\)/,
    ],
    [
      'duplicate custom_ids',
      bad({ items: [...items(1, 'd'), ...items(1, 'd')] }),
      /items\.1\.custom_id: duplicate of items\.0/,
    ],
    ['native mode', bad({ options: { mode: 'native' } }), /options\.mode: native is not supported/],
  ])('%s: 400 naming what is wrong, nothing created', async (_name, body, message) => {
    const before = await listBatches();
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatch(message);
    expect(await listBatches()).toBe(before);
  });
});
