/**
 * The chunk activity with structured outputs, on a fake provider: answers checked against the line's JSON
 * Schema, repaired with the invalid answer and its errors, counted, and given up on as `invalid_output`.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { ChunkInput } from '../../src/activities/chunk';
import type { ChunkResult } from '../../src/activities/chunkSummary';
import { createWorkerMetrics } from '../../src/metrics/workerMetrics';
import type { BatchLine } from '../../src/shared/contracts';
import { withOutputSchema } from '../../src/shared/structuredOutput';
import { fakeOpenAI, MemoryStore, type FakeAnswer } from '../helpers/fakes';

const SCHEMA = {
  type: 'object',
  properties: { label: { enum: ['yes', 'no'] } },
  required: ['label'],
  additionalProperties: false,
};

const line = (i: number, url: '/v1/chat/completions' | '/v1/responses' = '/v1/chat/completions'): BatchLine => {
  const body =
    url === '/v1/responses'
      ? { model: 'm', input: `q${i}` }
      : { model: 'm', messages: [{ role: 'user', content: `q${i}` }] };
  return { custom_id: `c${i}`, method: 'POST', url, body: withOutputSchema(url, body, SCHEMA) };
};

const chat = (content: string): FakeAnswer => ({
  status: 200,
  body: { choices: [{ message: { role: 'assistant', content } }], usage: { prompt_tokens: 10, completion_tokens: 3 } },
});

async function run(
  lines: BatchLine[],
  answer: (body: Record<string, unknown>, call: number) => FakeAnswer,
  extra: Partial<ChunkInput> = {},
) {
  const store = new MemoryStore();
  await store.putInput('b', lines, 100);
  const fake = fakeOpenAI(answer);
  const metrics = createWorkerMetrics();
  const acts = createActivities({
    openai: fake.client,
    store,
    metrics,
    config: { itemConcurrency: 4, requestConcurrency: 8 },
  });
  const report: ChunkResult = await new MockActivityEnvironment().run(acts.processChunk, {
    batchId: 'b',
    chunk: 0,
    maxAttempts: 3,
    ...extra,
  });
  const results = await store.getChunkResults('b', 0);
  const repairs = (await metrics.registry.getSingleMetric('llmbatch_output_repairs_total')!.get()).values.reduce(
    (n, v) => n + v.value,
    0,
  );
  return { report, results, calls: fake.calls, repairs };
}

describe('structured outputs in the chunk activity', () => {
  test('an invalid answer is repaired: the repair holds the answer and its errors; valid ones are not', async () => {
    const { report, results, calls, repairs } = await run([line(1), line(2)], (body) => {
      const turns = (body.messages as unknown[]).length;
      const first = (body.messages as { content: string }[])[0]!.content;
      if (first === 'q1' && turns === 1) return chat('{"label": "maybe"}');
      return chat('{"label": "yes"}');
    });
    expect(report).toMatchObject({ succeeded: 2, failed: 0, repaired: 1, tokensIn: 30, tokensOut: 9 });
    expect(calls).toHaveLength(3);
    const repair = calls.find((b) => (b.messages as unknown[]).length === 3)!;
    const [, assistant, user] = repair.messages as { role: string; content: string }[];
    expect(assistant).toEqual({ role: 'assistant', content: '{"label": "maybe"}' });
    expect(user!.role).toBe('user');
    expect(user!.content).toMatch(/\/label: must be equal to one of the allowed values/);
    expect(results.get('c1')?.llmbatch).toEqual({ repairs: 1, usage: { tokensIn: 20, tokensOut: 6 } });
    expect(results.get('c2')?.llmbatch).toEqual({ repairs: 0 });
    expect(repairs).toBe(1);
  });

  test('still invalid after repairAttempts: invalid_output with pointers; repairs spend no attempt', async () => {
    const { report, results, calls } = await run([line(1)], () => chat('{"label": 1, "extra": true'), {
      repairAttempts: 3,
      maxAttempts: 1,
    });
    expect(report).toMatchObject({ succeeded: 0, failed: 1, repaired: 3, invalidOutput: 1 });
    expect(calls).toHaveLength(4);
    const dead = results.get('c1')!;
    expect(dead.error?.code).toBe('invalid_output');
    expect(dead.error?.message).toMatch(/after 3 repairs: \(root\): not valid JSON/);
    expect(dead.llmbatch?.errors).toEqual([{ pointer: '', message: expect.stringMatching(/^not valid JSON/) }]);
  });

  test('a schema violation names the JSON pointer; the responses endpoint is checked and repaired too', async () => {
    const { results, calls } = await run(
      [line(3, '/v1/responses')],
      (body) => {
        const repaired = Array.isArray(body.input);
        const text = repaired ? '{"label": "no"}' : '{"label": "no", "why": 1}';
        return {
          status: 200,
          body: { output: [{ content: [{ type: 'output_text', text }] }], usage: { input_tokens: 1 } },
        };
      },
      { repairAttempts: 1 },
    );
    expect(results.get('c3')?.error).toBeNull();
    expect(results.get('c3')?.llmbatch?.repairs).toBe(1);
    const input = calls[1]!.input as { role: string; content: string }[];
    expect(input.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(input[2]!.content).toMatch(/\(root\): must NOT have additional properties: why/);
  });

  test('repairAttempts 0: the first invalid answer is final; a line without a schema is not checked', async () => {
    const plain: BatchLine = {
      custom_id: 'p',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'm', messages: [] },
    };
    const { report, calls } = await run([line(1), plain], () => chat('not json'), { repairAttempts: 0 });
    expect(report).toMatchObject({ succeeded: 1, failed: 1, invalidOutput: 1 });
    expect(report.repaired ?? 0).toBe(0);
    expect(calls).toHaveLength(2);
  });
});
