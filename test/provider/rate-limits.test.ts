import { RateLimitError } from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { formatDuration, RateLimiter, SlidingWindow } from '../../src/provider/rate-limiter';
import { chatBody, clientFor, failureOf, unchecked } from './helpers';

describe('rate limits over HTTP', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    // Fresh windows per test: the limiter is global to the simulator.
    await fetch(`${sim.origin}/_sim/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"rateLimits":true}' });
  });

  it('answers 429 with Retry-After once the RPM limit is used up', async () => {
    sim.configure({ rpm: 5, tpm: 0 });
    const client = clientFor(sim);
    for (let i = 0; i < 5; i++) {
      const { response } = await client.chat.completions.create(chatBody(`rpm ${i}`)).withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(4 - i));
    }
    const error = await failureOf(client.chat.completions.create(chatBody('rpm 5')));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(Number(error.headers!.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(error.headers!.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(Number(error.headers!.get('retry-after-ms'))).toBeLessThanOrEqual(60_000);
    expect(error.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?m?s$/);
    expect(sim.stats().rateLimited).toBe(1);

    // An invalid body is refused before the limiter: 400 (not 429), still with the headers.
    const invalid = await failureOf(client.chat.completions.create(unchecked({ model: 'm' })));
    expect(invalid.status).toBe(400);
    expect(invalid.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('does not charge rejected requests', async () => {
    sim.configure({ rpm: 2, tpm: 0 });
    const client = clientFor(sim);
    await client.chat.completions.create(chatBody('a'));
    await client.chat.completions.create(chatBody('b'));
    for (let i = 0; i < 3; i++) expect(await failureOf(client.chat.completions.create(chatBody('c')))).toBeInstanceOf(RateLimitError);
    // Had the three rejections been charged, raising the limit by one would not be enough.
    sim.configure({ rpm: 3 });
    await expect(client.chat.completions.create(chatBody('d'))).resolves.toBeDefined();
  });

  it('enforces TPM with prompt tokens plus max_tokens', async () => {
    sim.configure({ rpm: 0, tpm: 120 });
    const client = clientFor(sim);
    const body = (i: number) => chatBody(`tpm ${i}`, { max_tokens: 40 });
    const first = await client.chat.completions.create(body(1)).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('120');
    const remaining = Number(first.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeLessThan(80); // charged prompt (~11) + 40, whatever the actual completion
    await client.chat.completions.create(body(2));
    const error = await failureOf(client.chat.completions.create(body(3)));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.error.type).toBe('tokens');
    expect(error.headers!.get('retry-after')).not.toBeNull();
    // An embedding small enough to fit the leftover tokens still passes.
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' })).resolves.toBeDefined();
  });

  it('refuses a request larger than the whole TPM limit', async () => {
    sim.configure({ rpm: 0, tpm: 50 });
    const error = await failureOf(clientFor(sim).chat.completions.create(chatBody('big', { max_tokens: 500 })));
    expect(error.status).toBe(429);
    expect(error.message).toMatch(/Request too large/);
  });

  it('sends no rate-limit headers when unlimited', async () => {
    sim.configure({ rpm: 0, tpm: 0 });
    const { response } = await clientFor(sim).chat.completions.create(chatBody('free')).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });
});

describe('SlidingWindow (pure)', () => {
  it('frees capacity exactly 60 s after each admitted cost', () => {
    const window = new SlidingWindow();
    window.record(30, 1_000);
    window.record(50, 20_000);
    expect(window.waitFor(20, 100, 30_000)).toBe(0);
    expect(window.waitFor(40, 100, 30_000)).toBe(31_000); // needs the first 30 to expire at 61 s
    expect(window.waitFor(90, 100, 30_000)).toBe(50_000); // needs both to expire (at 80 s)
    expect(window.state(100, 30_000)).toEqual({ limit: 100, remaining: 20, resetMs: 50_000 });
    expect(window.state(100, 61_000).remaining).toBe(50);
    expect(window.state(100, 80_000)).toEqual({ limit: 100, remaining: 100, resetMs: 0 });
  });

  it('rate limiter charges both windows only when both admit', () => {
    const limiter = new RateLimiter();
    expect(limiter.check(10, 100, 80, 0).allowed).toBe(true);
    const rejected = limiter.check(10, 100, 30, 1);
    expect(rejected.allowed).toBe(false);
    expect(rejected.headers['x-ratelimit-remaining-requests']).toBe('9');
    expect(rejected.headers['x-ratelimit-remaining-tokens']).toBe('20');
    expect(limiter.check(10, 100, 20, 2).allowed).toBe(true);
  });

  it('formats reset durations like OpenAI', () => {
    expect(formatDuration(120)).toBe('120ms');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(6500)).toBe('6.5s');
    expect(formatDuration(60_000)).toBe('1m0s');
  });
});
