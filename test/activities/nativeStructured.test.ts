/**
 * Structured outputs in native mode, activity by activity: collection checks each answer against the JSON Schema
 * its request asks for and leaves the invalid ones without a result (`toRepair`) for the realtime fallback; the
 * fallback's repairs and invalid outputs are counted when merged back.
 */
import { MockActivityEnvironment as BaseMockEnv } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNativeActivities } from '../../src/activities/native';
import type { BatchLine, BatchOutputLine } from '../../src/shared/contracts';
import type { ProviderBatchPlan } from '../../src/shared/native';
import { FakeBatchApi } from '../helpers/fakeBatchApi';
import { chatLines, MemoryStore } from '../helpers/fakes';

const quiet = new DefaultLogger('ERROR');
const run = <P extends unknown[], R>(fn: (...args: P) => Promise<R>, ...args: P): Promise<R> =>
  new BaseMockEnv(undefined, { logger: quiet }).run<P, R, typeof fn>(fn, ...args);

const schema = {
  type: 'object',
  properties: { label: { enum: ['positive', 'negative'] }, score: { type: 'number' } },
  required: ['label', 'score'],
  additionalProperties: false,
};
/** Chat lines asking for `schema` (as the API stores them under options.outputSchema), then two plain ones. */
const lines: BatchLine[] = [
  ...chatLines(8, 'js').map((l) => ({
    ...l,
    body: { ...l.body, response_format: { type: 'json_schema', json_schema: { name: 'output', schema } } },
  })),
  ...chatLines(2, 'plain'),
];

const answer = (customId: string, content: string, status = 200): BatchOutputLine => ({
  id: `batch_req_${customId}`,
  custom_id: customId,
  response: {
    status_code: status,
    request_id: `req_${customId}`,
    body:
      status === 200
        ? { choices: [{ message: { content } }], usage: { prompt_tokens: 10, completion_tokens: 2 } }
        : { error: { message: content } },
  },
  error: null,
});
const expired = (customId: string): BatchOutputLine => ({
  id: `batch_req_${customId}`,
  custom_id: customId,
  response: null,
  error: { code: 'batch_expired', message: 'expired' },
});
const jsonl = (out: BatchOutputLine[]): string => out.map((l) => JSON.stringify(l)).join('\n') + '\n';
const plan: ProviderBatchPlan = {
  index: 0,
  endpoint: '/v1/chat/completions',
  firstChunk: 0,
  lastChunk: 2,
  lines: 10,
  bytes: 0,
};
const valid = JSON.stringify({ label: 'positive', score: 0.9 });

async function collecting(recordRetryable: boolean) {
  const store = new MemoryStore();
  await store.putInput('b1', lines, 4);
  const api = new FakeBatchApi();
  const out = api.addFile(
    jsonl([
      answer('js-0', valid),
      answer('js-1', '{"label": "posi'), // not JSON
      answer('js-2', JSON.stringify({ label: 'maybe', score: 1 })), // outside the enum
      answer('js-3', JSON.stringify({ label: 'negative' })), // a required property missing
      answer('js-4', valid),
      answer('js-5', 'bad request', 400), // the request's own failure: final, nothing to check
      answer('plain-0', 'not JSON and not asked to be'),
    ]),
  );
  const errs = api.addFile(jsonl([expired('js-6'), expired('plain-1')]));
  const acts = createNativeActivities({ openai: api.client, store });
  const input = { batchId: 'b1', plan, outputFileId: out.id, errorFileId: errs.id, recordRetryable };
  return { store, acts, input };
}

async function recordedIds(store: MemoryStore): Promise<string[]> {
  const ids: string[] = [];
  for (let chunk = 0; chunk < 3; chunk++) ids.push(...(await store.getChunkResults('b1', chunk)).keys());
  return ids.sort();
}

describe('native collection of structured outputs', () => {
  it('records valid answers, leaves invalid ones for realtime, checks only lines with a schema', async () => {
    const { store, acts, input } = await collecting(false);
    const summary = await run(acts.collectProviderBatch, input);
    // js-0, js-4 valid; js-5 a 400; plain-0 unchecked; js-1..3 invalid; js-6, plain-1 expired; js-7 not answered.
    expect(summary).toMatchObject({ succeeded: 3, failed: 1, remaining: 6, toRepair: 3 });
    expect(await recordedIds(store)).toEqual(['js-0', 'js-4', 'js-5', 'plain-0']);
  });

  it('on the final round too: expired lines are recorded, invalid answers are not', async () => {
    const { store, acts, input } = await collecting(true);
    const summary = await run(acts.collectProviderBatch, input);
    expect(summary).toMatchObject({ succeeded: 3, failed: 3, remaining: 4, toRepair: 3 });
    expect(await recordedIds(store)).toEqual(['js-0', 'js-4', 'js-5', 'js-6', 'plain-0', 'plain-1']);
  });

  it('a retried collection finds the same invalid answers and records nothing twice', async () => {
    const { store, acts, input } = await collecting(false);
    await run(acts.collectProviderBatch, input);
    const again = await run(acts.collectProviderBatch, input);
    expect(again).toMatchObject({ succeeded: 3, failed: 1, remaining: 6, toRepair: 3 });
    expect(await recordedIds(store)).toEqual(['js-0', 'js-4', 'js-5', 'plain-0']);
  });

  it('the fallback copies the invalid answers’ items; its repairs and invalid outputs count when merged', async () => {
    const { store, acts, input } = await collecting(true);
    await run(acts.collectProviderBatch, input);
    const fallback = { batchId: 'b1', plan, fallbackBatchId: 'b1-pb-0-rt' };
    const m = await run(acts.prepareRealtimeFallback, { ...fallback, chunkSize: 100 });
    expect(m.total).toBe(4); // js-1, js-2, js-3 to repair, js-7 never answered
    const fixed = (id: string, repairs: number): BatchOutputLine => ({ ...answer(id, valid), llmbatch: { repairs } });
    await store.appendResult('b1-pb-0-rt', 0, fixed('js-1', 1));
    await store.appendResult('b1-pb-0-rt', 0, fixed('js-2', 2));
    await store.appendResult('b1-pb-0-rt', 0, fixed('js-7', 0));
    await store.appendResult('b1-pb-0-rt', 0, {
      id: 'b1:js-3',
      custom_id: 'js-3',
      response: null,
      error: { code: 'invalid_output', message: 'still invalid after 2 repairs' },
      llmbatch: { repairs: 2 },
    });
    const summary = await run(acts.mergeRealtimeFallback, fallback);
    expect(summary).toMatchObject({ succeeded: 6, failed: 4, remaining: 0, repaired: 5, invalidOutput: 1 });
    expect(summary.toRepair).toBeUndefined();
  });
});
