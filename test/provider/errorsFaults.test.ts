import {
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { FaultInjector } from '../../src/provider/faults';
import { chatBody, clientFor, failureOf, unchecked, type ErrorPayload } from './helpers';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'sk-right-key' });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.configure({ errorRate: 0, hangRate: 0, malformedRate: 0, throttleRate: 0 });
  sim.resetStats();
});

const client = () => clientFor(sim, { apiKey: 'sk-right-key' });

describe('validation', () => {
  const invalidBodies: [string, Record<string, unknown>, string | null, string][] = [
    ['missing model', { messages: [{ role: 'user', content: 'x' }] }, 'model', 'missing_required_parameter'],
    ['missing messages', { model: 'm' }, 'messages', 'missing_required_parameter'],
    ['messages not an array', { model: 'm', messages: 'hello' }, 'messages', 'invalid_type'],
    ['empty messages', { model: 'm', messages: [] }, 'messages', 'empty_array'],
    [
      'message without role',
      { model: 'm', messages: [{ content: 'x' }] },
      'messages[0].role',
      'missing_required_parameter',
    ],
    ['bad role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', 'invalid_value'],
    [
      'user message without content',
      { model: 'm', messages: [{ role: 'user' }] },
      'messages[0].content',
      'missing_required_parameter',
    ],
    ['n out of range', { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 0 }, 'n', 'invalid_value'],
  ];

  it.each(invalidBodies)(
    '400 for %s, in OpenAI error shape, costing exactly one call',
    async (_name, body, param, code) => {
      const error = await failureOf(client().chat.completions.create(unchecked(body)));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param, code });
      expect(sim.callsForBody(body)).toEqual({ calls: 1, successes: 0, faults: 0 });
    },
  );

  it('400 for an embeddings request without input and for a body that is not an object', async () => {
    const noInput = await failureOf(client().embeddings.create(unchecked({ model: 'text-embedding-3-small' })));
    expect(noInput.status).toBe(400);
    expect(noInput.error.param).toBe('input');
    const response = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-right-key', 'content-type': 'application/json' },
      body: '[1, 2]',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: ErrorPayload }).error.type).toBe('invalid_request_error');
    const broken = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-right-key', 'content-type': 'application/json' },
      body: '{"model": ',
    });
    expect(broken.status).toBe(400);
  });

  it('never faults an invalid body, even at fault rate 1', async () => {
    sim.configure({ errorRate: 1 });
    const error = await failureOf(client().chat.completions.create(unchecked({ model: 'm' })));
    expect(error.status).toBe(400);
    expect(sim.stats().faults.errors).toBe(0);
  });
});

describe('auth and routing', () => {
  it('401 invalid_api_key for a wrong key, 401 for none', async () => {
    const wrong = await failureOf(clientFor(sim, { apiKey: 'sk-wrong-key' }).chat.completions.create(chatBody('x')));
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect(wrong.error.code).toBe('invalid_api_key');
    const none = await fetch(`${sim.url}/chat/completions`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: ErrorPayload }).error.type).toBe('invalid_request_error');
  });

  it('404 for unknown routes in the same error shape', async () => {
    const error = await failureOf(client().models.list());
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining('/v1/models'),
    });
    expect(sim.stats().requests.unmatched).toEqual({ '404': 1 });
  });

  it('puts x-request-id on every response, errors included', async () => {
    const response = await fetch(`${sim.url}/nowhere`);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
  });
});

describe('fault injection (rate 1.0 each)', () => {
  it('errorRate answers 500/502/503 JSON errors', async () => {
    sim.configure({ errorRate: 1 });
    for (let i = 0; i < 3; i++) {
      const error = await failureOf(client().chat.completions.create(chatBody(`e${i}`)));
      expect(error).toBeInstanceOf(InternalServerError);
      expect([500, 502, 503]).toContain(error.status);
      expect(error.error.type).toBe('server_error');
    }
    expect(sim.stats().faults).toEqual({ errors: 3, hangs: 0, malformed: 0, throttled: 0 });
  });

  it('hangRate never answers: the client times out and the hang is counted', async () => {
    sim.configure({ hangRate: 1 });
    const error = await failureOf(
      clientFor(sim, { apiKey: 'sk-right-key', timeout: 300 }).chat.completions.create(chatBody('h')),
    );
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    const stats = sim.stats();
    expect(stats.faults.hangs).toBe(1);
    expect(stats.requests['/v1/chat/completions']).toEqual({ hung: 1 });
  });

  it('a body marked [sim:latency=<ms>] waits that long; the rest keep the drawn latency', async () => {
    const impatient = clientFor(sim, { apiKey: 'sk-right-key', timeout: 400 });
    const slow = failureOf(impatient.chat.completions.create(chatBody('slow one [sim:latency=5000]')));
    const fast = await impatient.chat.completions.create(chatBody('fast one'));
    expect(fast.choices[0]?.message.content).toEqual(expect.any(String));
    expect(await slow).toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('malformedRate answers 200 with a body cut mid-JSON', async () => {
    sim.configure({ malformedRate: 1 });
    const error = await failureOf(client().chat.completions.create(chatBody('m')));
    expect(error.name).toBe('SyntaxError'); // thrown by JSON.parse in another realm: no instanceof
    const raw = await fetch(`${sim.url}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-right-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }),
    });
    expect(raw.status).toBe(200);
    const text = await raw.text();
    expect(text.startsWith('{')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(sim.stats().faults.malformed).toBe(2);
    expect(sim.callsForBody(chatBody('m'))).toEqual({ calls: 1, successes: 0, faults: 1 });
  });

  it('throttleRate answers 429 rate_limit_exceeded within the limits, a short Retry-After, uncharged', async () => {
    sim.configure({ throttleRate: 1 });
    const error = await failureOf(client().chat.completions.create(chatBody('t')));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.error.code).toBe('rate_limit_exceeded');
    expect(error.headers?.get('retry-after-ms')).toBe('250');
    expect(error.headers?.get('retry-after')).toBe('1');
    const stats = sim.stats();
    expect(stats.faults).toEqual({ errors: 0, hangs: 0, malformed: 0, throttled: 1 });
    expect(stats.requests['/v1/chat/completions']).toEqual({ '429': 1 });
    expect(stats.rateLimited).toBe(1);
    // Waited out, not a failure of the item: the body's own faults do not count it.
    expect(sim.callsForBody(chatBody('t'))).toEqual({ calls: 1, successes: 0, faults: 0 });
  });

  it('a fault rate in between hits about that fraction, repeatably for a seed', async () => {
    const draw = (seed: number) => {
      const faults = new FaultInjector(seed);
      return Array.from({ length: 2000 }, () =>
        faults.decide({ errorRate: 0.2, hangRate: 0.1, malformedRate: 0.05, throttleRate: 0.1 }),
      );
    };
    const run = draw(7);
    expect(draw(7)).toEqual(run);
    expect(draw(8)).not.toEqual(run);
    const share = (kind: string) => run.filter((k) => k === kind).length / run.length;
    expect(share('error')).toBeGreaterThan(0.17);
    expect(share('error')).toBeLessThan(0.23);
    expect(share('hang')).toBeGreaterThan(0.08);
    expect(share('hang')).toBeLessThan(0.12);
    expect(share('malformed')).toBeGreaterThan(0.03);
    expect(share('malformed')).toBeLessThan(0.07);
    expect(share('throttled')).toBeGreaterThan(0.08);
    expect(share('throttled')).toBeLessThan(0.12);
  });

  it('samples lognormal latency with the configured median and p99', () => {
    const faults = new FaultInjector(1);
    const samples = Array.from({ length: 20_000 }, () => faults.latencyMs(100, 1000)).sort((a, b) => a - b);
    expect(samples[10_000]!).toBeGreaterThan(90);
    expect(samples[10_000]!).toBeLessThan(110);
    expect(samples[19_800]!).toBeGreaterThan(800);
    expect(samples[19_800]!).toBeLessThan(1250);
    expect(new FaultInjector(1).latencyMs(50, 50)).toBe(50);
    expect(new FaultInjector(1).latencyMs(0, 0)).toBe(0);
  });
});
