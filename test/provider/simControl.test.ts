import { createHash } from 'node:crypto';
import { startSimulator, type SimStats, type Simulator } from '../../src/provider';
import { BodyCallCounter } from '../../src/provider/bodyCalls';
import { chatBody, clientFor, failureOf, unchecked, type ChatParams, type ErrorPayload } from './helpers';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ rpm: 1000 });
});
afterAll(() => sim.close());

const post = async <T = Record<string, unknown>>(path: string, body: unknown) => {
  const response = await fetch(`${sim.origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as T };
};

describe('/_sim control routes', () => {
  it('GET /healthz answers 200', async () => {
    const response = await fetch(`${sim.origin}/healthz`);
    expect(response.status).toBe(200);
  });

  it('GET /_sim/stats counts requests by route and status, and duplicate bodies', async () => {
    await post('/_sim/reset', {});
    const client = clientFor(sim);
    await client.chat.completions.create(chatBody('twice'));
    await client.chat.completions.create(chatBody('twice'));
    await client.chat.completions.create(chatBody('once'));
    await failureOf(client.chat.completions.create(unchecked({ model: 'm' })));
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'e' });

    const stats = (await (await fetch(`${sim.origin}/_sim/stats`)).json()) as SimStats;
    expect(stats).toEqual(sim.stats());
    expect(stats.requests['/v1/chat/completions']).toEqual({ '200': 3, '400': 1 });
    expect(stats.requests['/v1/embeddings']).toEqual({ '200': 1 });
    expect(stats.total).toBe(5);
    expect(stats.rateLimited).toBe(0);
    expect(stats.bodies).toEqual({
      distinct: 4,
      duplicates: 1,
      duplicateSuccesses: 1,
      maxCallsPerBody: 2,
      callsHistogram: { '1': 3, '2': 1 },
    });
    // The control routes themselves are not counted.
    expect(sim.stats().total).toBe(5);
  });

  it('POST /_sim/calls and callsForBody count calls of one body, key order ignored', async () => {
    const body: ChatParams = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count me' }] };
    const client = clientFor(sim);
    await client.chat.completions.create(body);
    await client.chat.completions.create(body);
    expect(sim.callsForBody({ messages: body.messages, model: body.model })).toEqual({
      calls: 2,
      successes: 2,
      faults: 0,
    });
    expect((await post('/_sim/calls', { body })).json).toEqual({ calls: 2, successes: 2, faults: 0 });
    expect((await post('/_sim/calls', { endpoint: '/v1/embeddings', body })).json).toEqual({
      calls: 0,
      successes: 0,
      faults: 0,
    });
  });

  it('POST /_sim/config changes knobs at runtime and names a bad one', async () => {
    const updated = await post('/_sim/config', { errorRate: 1 });
    expect(updated.status).toBe(200);
    expect(updated.json.errorRate).toBe(1);
    expect(sim.options().errorRate).toBe(1);
    const error = await failureOf(clientFor(sim).chat.completions.create(chatBody('faulted')));
    expect(error.status).toBeGreaterThanOrEqual(500);
    // which item's call failed
    expect(sim.callsForBody(chatBody('faulted'))).toEqual({ calls: 1, successes: 0, faults: 1 });
    await post('/_sim/config', { errorRate: 0 });

    const bad = await post<{ error: ErrorPayload }>('/_sim/config', { hangRate: 2 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('hangRate');
    const unknown = await post<{ error: ErrorPayload }>('/_sim/config', { hangrate: 0.5 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toMatch(/hangrate/);
    expect(() => sim.configure({ port: 1 })).toThrow(/port/);
    expect(() => sim.configure({ latencyMedianMs: 100, latencyP99Ms: 10 })).toThrow(/latencyP99Ms/);
    expect(sim.options().latencyMedianMs).toBe(0); // a refused patch changes nothing
  });

  it('POST /_sim/reset zeroes the counters', async () => {
    const { json } = await post<SimStats>('/_sim/reset', {});
    expect(json.total).toBe(0);
    expect(sim.stats().bodies.distinct).toBe(0);
  });
});

describe('startSimulator options', () => {
  it('fails at start naming a bad option', async () => {
    await expect(startSimulator({ errorRate: 1.5 })).rejects.toThrow(/errorRate/);
    await expect(startSimulator({ rpm: -1 })).rejects.toThrow(/rpm/);
    await expect(startSimulator(unchecked({ nonsense: 1 }))).rejects.toThrow(/nonsense/);
  });

  it('close() ends hung connections promptly and the client sees a connection error', async () => {
    const local = await startSimulator({ hangRate: 1 });
    const pending = failureOf(clientFor(local, { timeout: 60_000 }).chat.completions.create(chatBody('hang')));
    while (local.stats().faults.hangs === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await local.close();
    expect((await pending).constructor.name).toBe('APIConnectionError');
  });
});

describe('BodyCallCounter', () => {
  const digest = (text: string) => createHash('sha256').update(text).digest();

  it('tracks calls, successes, duplicates and the histogram', () => {
    const counter = new BodyCallCounter();
    for (let i = 0; i < 1000; i++) {
      counter.recordCall(digest(`body ${i}`));
      counter.recordSuccess(digest(`body ${i}`));
    }
    counter.recordCall(digest('body 7'));
    counter.recordCall(digest('body 7'));
    counter.recordSuccess(digest('body 7'));
    counter.recordFault(digest('body 7'));
    expect(counter.get(digest('body 7'))).toEqual({ calls: 3, successes: 2, faults: 1 });
    expect(counter.get(digest('never'))).toEqual({ calls: 0, successes: 0, faults: 0 });
    expect(counter.summary()).toEqual({
      distinct: 1000,
      duplicates: 1,
      duplicateSuccesses: 1,
      maxCallsPerBody: 3,
      callsHistogram: { '1': 999, '3': 1 },
    });
  });
});
