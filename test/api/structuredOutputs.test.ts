/**
 * Structured outputs end to end: the API, a dev server, a worker and the simulator answering a share of
 * structured requests invalidly (`invalidOutputRate`) and some bodies (the `[sim:invalid-output]` marker)
 * invalidly every time, corrections included.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { BatchLine, BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import { answerText } from '../../src/shared/structuredOutput';
import { INVALID_OUTPUT_MARKER } from '../../src/provider';
import { useApiStack } from '../helpers/apiStack';

const stack = useApiStack();

const SCHEMA = {
  type: 'object',
  properties: {
    sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    topics: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 },
  },
  required: ['sentiment', 'confidence', 'topics'],
  additionalProperties: false,
};
const TOTAL = 2000;
const KEEP_FAILING = new Set(Array.from({ length: 20 }, (_, i) => `r${i * 97}`));

function reviews(total: number): BatchLine[] {
  return Array.from({ length: total }, (_, i) => {
    const id = `r${i}`;
    const marker = KEEP_FAILING.has(id) ? ` ${INVALID_OUTPUT_MARKER}` : '';
    return {
      custom_id: id,
      method: 'POST' as const,
      url: '/v1/chat/completions' as const,
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Classify the sentiment of review #${i}: it was fine.${marker}` }],
      },
    };
  });
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function finished(id: string): Promise<BatchProgress> {
  for (const end = Date.now() + 240_000; Date.now() < end; await new Promise((r) => setTimeout(r, 300))) {
    const progress = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as BatchProgress;
    if (progress.status !== 'running') return progress;
  }
  throw new Error(`batch ${id} did not finish`);
}

async function results(id: string): Promise<BatchOutputLine[]> {
  const text = await (await fetch(`${stack.base}/batches/${id}/results`)).text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
}

const listBatches = async (): Promise<number> =>
  ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;

describe('structured outputs', () => {
  test('2,000 lines, 20% invalid: each result valid, or invalid_output where the provider keeps failing', async () => {
    stack.sim.configure({ invalidOutputRate: 0.2 });
    const res = await post('/batches', {
      requests: reviews(TOTAL),
      options: { mode: 'realtime', outputSchema: SCHEMA },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const progress = await finished(id);
    const lines = await results(id);
    const stats = stack.sim.stats() as unknown as {
      structured: { answers: number; invalid: number; corrections: number };
    };

    expect(progress).toMatchObject({ status: 'completed', total: TOTAL, succeeded: TOTAL - KEEP_FAILING.size });
    expect(progress.invalidOutput).toBe(KEEP_FAILING.size);
    expect(lines).toHaveLength(TOTAL);
    const validate = new Ajv2020({ strict: false }).compile(SCHEMA);
    let repairsInLines = 0;
    for (const line of lines) {
      repairsInLines += line.llmbatch?.repairs ?? 0;
      if (KEEP_FAILING.has(line.custom_id)) {
        expect(line.error?.code).toBe('invalid_output');
        expect(line.llmbatch?.repairs).toBe(2); // the default repairAttempts
        expect(line.llmbatch?.errors?.length).toBeGreaterThan(0);
        continue;
      }
      expect(line.error).toBeNull();
      const text = answerText('/v1/chat/completions', line.response?.body);
      expect(validate(JSON.parse(text ?? 'null'))).toBe(true);
      expect(line.llmbatch?.repairs).toEqual(expect.any(Number));
    }
    // Every repair request reached the simulator as a correction, and each is counted once.
    expect(progress.repaired).toBe(stats.structured.corrections);
    expect(progress.repaired).toBe(repairsInLines);
    // About 20% of the first asks were invalid (the simulator draws from each body's digest).
    expect(progress.repaired).toBeGreaterThan(0.15 * TOTAL);
    expect(progress.repaired).toBeLessThan(0.25 * TOTAL + 2 * KEEP_FAILING.size);
    const figures = { repaired: progress.repaired, invalidOutput: progress.invalidOutput, simulator: stats.structured };
    console.log(`structured outputs, 2,000 lines: ${JSON.stringify(figures)}`);
    // Repairs cost what they cost: the tokens of every call, the repairs' included.
    const tokensOut = lines.reduce((n, l) => n + (l.llmbatch?.usage?.tokensOut ?? 0), 0);
    expect(progress.tokensOut).toBeGreaterThan(tokensOut);
  }, 300_000);

  test('repairAttempts 0 makes every invalid first answer a dead letter, with its errors', async () => {
    stack.sim.configure({ invalidOutputRate: 0.5 });
    const lines = reviews(100).map((l) => ({ ...l, custom_id: `zero-${l.custom_id}` }));
    const res = await post('/batches', {
      requests: lines,
      options: { mode: 'realtime', outputSchema: SCHEMA, repairAttempts: 0 },
    });
    const { id } = (await res.json()) as { id: string };
    const progress = await finished(id);
    expect(progress.repaired).toBe(0);
    expect(progress.invalidOutput).toBe(progress.failed);
    expect(progress.failed).toBeGreaterThan(20);
    const dead = (await results(id)).filter((l) => l.error);
    for (const l of dead) {
      expect(l.error?.code).toBe('invalid_output');
      expect(l.llmbatch?.errors?.[0]).toEqual({ pointer: expect.any(String), message: expect.any(String) });
    }
  }, 120_000);

  test('a schema that does not compile: 400 naming the option or the line, nothing created', async () => {
    const before = await listBatches();
    const bad = { type: 'object', properties: { a: { type: 'strin' } } };
    const option = await post('/batches', { requests: reviews(3), options: { outputSchema: bad } });
    expect(option.status).toBe(400);
    expect(((await option.json()) as { error: { message: string } }).error.message).toMatch(
      /^invalid batch: options\.outputSchema: not a valid JSON Schema/,
    );
    const lines = reviews(3);
    lines[1]!.body.response_format = { type: 'json_schema', json_schema: { name: 'x', schema: bad } };
    const line = await post('/batches', { requests: lines });
    expect(line.status).toBe(400);
    expect(((await line.json()) as { error: { message: string } }).error.message).toMatch(
      /^invalid batch: requests\.1: body\.response_format\.json_schema\.schema: not a valid JSON Schema/,
    );
    expect(await listBatches()).toBe(before);
  });
});
