/**
 * Structured outputs in native mode, end to end through the API against the simulator: answers are checked on
 * collection, the invalid ones are asked again and repaired in realtime, and what cannot be repaired ends as an
 * `invalid_output` dead letter. modeReason says so; the final progress counts the repairs.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { planBatch } from '../../src/api/plan';
import type { BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

const stack = useApiStack({
  LLMBATCH_AUTO_NATIVE_MIN_ITEMS: '100',
  LLMBATCH_NATIVE_POLL_INITIAL_MS: '200',
  LLMBATCH_NATIVE_POLL_MAX_MS: '500',
});

/** The simulator answers every ask of a conversation holding it invalidly, repairs included. */
const MARKER = ' [sim:invalid-output]';
const REASON = 'structured outputs are checked on collection; invalid answers are repaired in realtime';
const schema = {
  type: 'object',
  properties: {
    sentiment: { enum: ['positive', 'negative', 'neutral'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    topics: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 3 },
  },
  required: ['sentiment', 'confidence', 'topics'],
  additionalProperties: false,
};

interface ResultLine {
  custom_id: string;
  response: { status_code: number; body: { choices: Array<{ message: { content: string } }> } } | null;
  error: { code: string; message: string } | null;
}
type Progress = Record<string, unknown> & { status: string; modeReason: string | null };

async function finished(id: string): Promise<Progress> {
  for (let i = 0; i < 1200; i++) {
    const p = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as Progress;
    if (p.status !== 'running') return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`batch ${id} did not finish`);
}

describe('native structured outputs', () => {
  afterEach(() => stack.sim.configure({ invalidOutputRate: 0 }));

  it('native asked for: modeReason says so when a line asks for a schema of its own, and is null otherwise', () => {
    const owner = { tenant: 'local' };
    const plain = chatLines(1);
    const own = plain.map((l) => ({
      ...l,
      body: { ...l.body, response_format: { type: 'json_schema', json_schema: { name: 'o', schema } } },
    }));
    const plan = (representatives: BatchLine[]) =>
      planBatch(
        { requests: representatives, options: { mode: 'native' } },
        { total: 1, representatives },
        owner,
        stack.config,
        Date.now(),
      );
    expect(plan(own).modeReason).toBe(REASON);
    expect(plan(own).input).toMatchObject({ modeReason: REASON });
    expect(plan(plain).modeReason).toBeNull();
  });

  it('200 lines, 20% invalid first answers, 3 marked: repaired in realtime, the marked ones dead letters', async () => {
    stack.sim.configure({ batchLinesPerSecond: 1000, invalidOutputRate: 0.2 });
    const marked = new Set(['review-17', 'review-101', 'review-188']);
    const requests: BatchLine[] = chatLines(200, 'review').map((l) => ({
      ...l,
      body: {
        ...l.body,
        messages: [
          {
            role: 'user',
            content: `Give the sentiment of review ${l.custom_id}${marked.has(l.custom_id) ? MARKER : ''}`,
          },
        ],
      },
    }));
    const res = await fetch(`${stack.base}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests, options: { mode: 'auto', outputSchema: schema, repairAttempts: 2 } }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; mode: string; modeReason: string };
    expect(created.mode).toBe('native');
    expect(created.modeReason).toMatch(new RegExp(`^auto: 200 items .*; ${REASON}$`));

    const p = await finished(created.id);
    expect(p).toMatchObject({ status: 'completed', mode: 'native', total: 200, succeeded: 197, failed: 3 });
    expect(p).toMatchObject({ pending: 0, invalidOutput: 3, modeReason: created.modeReason });
    // About 40 first answers were invalid (one repair each), and each marked line was repaired twice in vain.
    expect(p.repaired).toBeGreaterThan(3 * 2);

    const text = await (await fetch(`${stack.base}/batches/${created.id}/results`)).text();
    const results = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResultLine);
    expect(results).toHaveLength(200);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    for (const r of results) {
      if (marked.has(r.custom_id)) {
        expect(r.error?.code).toBe('invalid_output');
        continue;
      }
      expect(r.error).toBeNull();
      expect(validate(JSON.parse(r.response?.body.choices[0]?.message.content ?? 'null'))).toBe(true);
    }
    // The invalid answers went through the realtime fallback: some valid results came from there, repaired.
    const fallback = await stack.store.getManifest(`${created.id}-pb-0-rt`);
    expect(fallback?.total).toBeGreaterThan(3);
  });
});
