import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { FailureType } from '../../src/shared/failures';
import { chatLines, fakeOpenAI, MemoryStore, type FakeAnswer } from '../helpers/fakes';
import { failureOf } from '../helpers/failures';

const ok = (body: Record<string, unknown>): FakeAnswer => ({
  status: 200,
  body: { echo: body.messages, usage: { prompt_tokens: 10, completion_tokens: 2 } },
});

async function setup(n: number, answer: (body: Record<string, unknown>, call: number) => FakeAnswer) {
  const store = new MemoryStore();
  await store.putInput('b1', chatLines(n), 100);
  const fake = fakeOpenAI(answer);
  const acts = createActivities({ openai: fake.client, store, config: { itemConcurrency: 4, requestConcurrency: 64 } });
  return { store, fake, acts };
}

describe('processChunk activity', () => {
  it('records every item once and reports the counts', async () => {
    const { store, fake, acts } = await setup(10, ok);
    const result = await new MockActivityEnvironment().run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 5,
    });
    expect(result).toEqual({ chunk: 0, succeeded: 10, failed: 0, tokensIn: 100, tokensOut: 20, cacheHits: 0 });
    expect(fake.calls).toHaveLength(10);
    const recorded = await store.getChunkResults('b1', 0);
    expect([...recorded.keys()].sort()).toEqual(
      chatLines(10)
        .map((l) => l.custom_id)
        .sort(),
    );
    expect(recorded.get('item-3')?.response).toMatchObject({
      status_code: 200,
      request_id: expect.stringMatching(/^req_/),
    });
  });

  it('skips items already recorded when retried', async () => {
    const { store, fake, acts } = await setup(10, ok);
    for (const line of chatLines(4)) {
      await store.appendResult('b1', 0, {
        id: `b1:${line.custom_id}`,
        custom_id: line.custom_id,
        response: { status_code: 200, request_id: 'r', body: {} },
        error: null,
      });
    }
    const result = await new MockActivityEnvironment({ attempt: 2 }).run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 5,
    });
    expect(fake.calls).toHaveLength(6);
    expect(result).toMatchObject({ succeeded: 10 });
  });

  it('records permanent errors (400) as final without retrying them', async () => {
    const { store, fake, acts } = await setup(5, (body, _call) =>
      JSON.stringify(body).includes('hello 2') ? { status: 400, error: 'bad body' } : ok(body),
    );
    const result = await new MockActivityEnvironment().run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 5,
    });
    expect(result).toEqual({ chunk: 0, succeeded: 4, failed: 1, tokensIn: 40, tokensOut: 8, cacheHits: 0 });
    expect(fake.calls).toHaveLength(5);
    expect((await store.getChunkResults('b1', 0)).get('item-2')?.error).toMatchObject({ code: 'invalid_value' });
  });

  it('leaves transient failures pending and asks Temporal to wait for the largest Retry-After', async () => {
    const { store, acts } = await setup(6, (body) => {
      const text = JSON.stringify(body);
      if (text.includes('hello 1')) return { status: 502, error: 'bad gateway', headers: { 'retry-after': '7' } };
      if (text.includes('hello 4')) return { status: 503, error: 'unavailable', headers: { 'retry-after': '3' } };
      return ok(body);
    });
    const failure = await failureOf(
      new MockActivityEnvironment().run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 5 }),
    );
    expect(failure.type).toBe(FailureType.TransientProviderErrors);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7000);
    const recorded = await store.getChunkResults('b1', 0);
    expect(recorded.size).toBe(4);
    expect(recorded.has('item-1')).toBe(false);
    expect(await store.getFailureCounts('b1', 0)).toEqual(
      new Map([
        ['item-1', 1],
        ['item-4', 1],
      ]),
    );
  });

  it('absorbs a 429 inside the attempt: the lane waits out Retry-After and the item is sent again', async () => {
    const { store, fake, acts } = await setup(5, (body, call) =>
      JSON.stringify(body).includes('hello 2') && call <= 3
        ? { status: 429, error: 'slow down', headers: { 'retry-after-ms': '30' } }
        : ok(body),
    );
    const result = await new MockActivityEnvironment().run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 5,
    });
    expect(result).toMatchObject({ succeeded: 5, failed: 0 });
    expect(fake.calls.filter((b) => JSON.stringify(b).includes('hello 2')).length).toBeGreaterThanOrEqual(2);
    expect((await store.getChunkResults('b1', 0)).get('item-2')?.response?.status_code).toBe(200);
    expect((await store.getFailureCounts('b1', 0)).size).toBe(0); // waiting out a 429 spends no attempt
  });

  it('dead-letters an item at its own maxAttempts-th transient failure, whatever the chunk attempt', async () => {
    const { store, fake, acts } = await setup(3, (body) =>
      JSON.stringify(body).includes('hello 0') ? { status: 500, error: 'boom' } : ok(body),
    );
    const run = (attempt: number) =>
      new MockActivityEnvironment({ attempt }).run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 3 });
    // Chunk attempt 40 (say, after many killed workers) is item-0's first failure: it stays pending.
    expect((await failureOf(run(40))).type).toBe(FailureType.TransientProviderErrors);
    expect((await failureOf(run(41))).type).toBe(FailureType.TransientProviderErrors);
    expect(await store.getFailureCounts('b1', 0)).toEqual(new Map([['item-0', 2]]));
    expect((await store.getChunkResults('b1', 0)).has('item-0')).toBe(false);
    const result = await run(42);
    expect(result).toEqual({ chunk: 0, succeeded: 2, failed: 1, tokensIn: 20, tokensOut: 4, cacheHits: 0 });
    expect((await store.getChunkResults('b1', 0)).get('item-0')?.error).toEqual({
      code: 'retries_exhausted',
      message: expect.stringContaining('boom'),
    });
    expect(fake.calls.filter((b) => JSON.stringify(b).includes('hello 0'))).toHaveLength(3);
  });

  it('charges only the failing item: the others keep their whole budget', async () => {
    let attempt = 0;
    const { store, acts } = await setup(4, (body) => {
      const text = JSON.stringify(body);
      if (text.includes('hello 0')) return { status: 503, error: 'unavailable' };
      return text.includes('hello 1') && attempt === 1 ? { status: 502, error: 'bad gateway' } : ok(body);
    });
    const run = () =>
      new MockActivityEnvironment({ attempt: ++attempt }).run(acts.processChunk, {
        batchId: 'b1',
        chunk: 0,
        maxAttempts: 2,
      });
    await failureOf(run()); // item-0 and item-1 fail once each
    // item-0's second failure is its last; item-1 succeeds
    expect(await run()).toMatchObject({ succeeded: 3, failed: 1 });
    const recorded = await store.getChunkResults('b1', 0);
    expect(recorded.get('item-0')?.error?.code).toBe('retries_exhausted');
    expect(recorded.get('item-1')?.error).toBeNull();
    expect(await store.getFailureCounts('b1', 0)).toEqual(
      new Map([
        ['item-0', 1],
        ['item-1', 1],
      ]),
    ); // the last failure is the dead letter itself
  });

  it('charges no item for a chunk attempt that died with its calls in flight', async () => {
    let dying = true;
    // The first call answers (a lane's first request goes alone, and the lane learns from its answer).
    const { store, fake, acts } = await setup(4, (body, call) => (dying && call > 1 ? 'hang' : ok(body)));
    // Three attempts end with every call in flight (cancelled here; a killed worker writes nothing at all).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const env = new MockActivityEnvironment({ attempt });
      const run = env.run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 2 });
      await new Promise((r) => setTimeout(r, 20));
      env.cancel();
      await expect(run).rejects.toBeDefined();
    }
    expect((await store.getFailureCounts('b1', 0)).size).toBe(0);
    dying = false;
    const result = await new MockActivityEnvironment({ attempt: 4 }).run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 2,
    });
    expect(result).toMatchObject({ succeeded: 4, failed: 0 });
    expect(fake.calls.length).toBeGreaterThan(4); // the dead attempts did call the provider
  });

  it('counts a call the client timed out (a hung provider) as a transient failure of that item', async () => {
    const { store, acts } = await setup(3, (body) => (JSON.stringify(body).includes('hello 1') ? 'timeout' : ok(body)));
    const failure = await failureOf(
      new MockActivityEnvironment().run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 5 }),
    );
    expect(failure.type).toBe(FailureType.TransientProviderErrors);
    expect(await store.getFailureCounts('b1', 0)).toEqual(new Map([['item-1', 1]]));
  });

  it('dead-letters without a call an item whose last failure was counted before its worker died', async () => {
    const { store, fake, acts } = await setup(2, ok);
    const writer = await store.openResults('b1', 0);
    for (let i = 0; i < 3; i++) await writer.countFailure('item-0');
    const result = await new MockActivityEnvironment({ attempt: 2 }).run(acts.processChunk, {
      batchId: 'b1',
      chunk: 0,
      maxAttempts: 3,
    });
    expect(result).toMatchObject({ succeeded: 1, failed: 1 });
    expect((await store.getChunkResults('b1', 0)).get('item-0')?.error?.code).toBe('retries_exhausted');
    expect(fake.calls).toHaveLength(1);
  });

  it('fails fast and for good when the provider rejects the key', async () => {
    const { acts } = await setup(3, () => ({ status: 401, error: 'Incorrect API key' }));
    const failure = await failureOf(
      new MockActivityEnvironment().run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 5 }),
    );
    expect(failure.type).toBe(FailureType.ProviderAuthError);
    expect(failure.nonRetryable).toBe(true);
  });

  it('bounds requests in flight across all chunks of the process', async () => {
    const store = new MemoryStore();
    await store.putInput('b2', chatLines(40), 20); // two chunks of 20
    let inFlight = 0;
    let peak = 0;
    const client = {
      post: (_path: string, opts: { body: Record<string, unknown> }) => ({
        withResponse: async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight -= 1;
          return { data: { echo: opts.body }, response: new Response(null, { status: 200 }) };
        },
      }),
    };
    const acts = createActivities({
      openai: client as never,
      store,
      config: { itemConcurrency: 8, requestConcurrency: 3 },
    });
    const env = new MockActivityEnvironment();
    const results = await Promise.all(
      [0, 1].map((chunk) => env.run(acts.processChunk, { batchId: 'b2', chunk, maxAttempts: 5 })),
    );
    expect(results).toMatchObject([{ succeeded: 20 }, { succeeded: 20 }]);
    expect(peak).toBe(3);
  });

  it('stops on cancellation and keeps what finished', async () => {
    const { store, acts } = await setup(8, (body) => (JSON.stringify(body).includes('hello 7') ? 'hang' : ok(body)));
    const env = new MockActivityEnvironment();
    const run = env.run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 5 });
    await new Promise((r) => setTimeout(r, 100));
    env.cancel();
    await expect(run).rejects.toBeDefined();
    expect((await store.getChunkResults('b1', 0)).size).toBe(7);
  });
});
