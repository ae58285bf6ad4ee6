import { RateLimitError } from 'openai';
import { startSimulator, type SimStats, type Simulator, type SimulatorOptions } from '../../src/provider';
import { chatBody, clientFor, failureOf, unchecked } from './helpers';

/** The simulator's rate limiter runs on this clock, so header values are exact. */
const clock = { now: 1_000_000 };

describe('rate limits over HTTP (official client, fake clock)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({}, { now: () => clock.now });
  });
  afterAll(() => sim.close());

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${sim.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  /** New limits, then a fresh (full) window: the limiter is global to the simulator. */
  const limits = async (patch: Partial<SimulatorOptions>) => {
    sim.configure({ rpm: 0, tpm: 0, rateBurstSeconds: 1, backgroundRpm: 0, backgroundTpm: 0, ...patch });
    await post('/_sim/reset', { rateLimits: true });
  };

  it('3,000 RPM: a burst of 50 with exact headers, then a 429 shaped like OpenAI', async () => {
    await limits({ rpm: 3000 });
    const client = clientFor(sim);
    for (let i = 0; i < 50; i++) {
      const { response } = await client.chat.completions.create(chatBody(`burst ${i}`)).withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3000');
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(49 - i));
      expect(response.headers.get('x-ratelimit-reset-requests')).toBe(i === 49 ? '1s' : `${(i + 1) * 20}ms`);
    }
    const error = await failureOf(client.chat.completions.create(chatBody('one too many')));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.error).toEqual({
      message:
        'Rate limit reached for gpt-4o-mini in organization org-simulated on requests per min (RPM): Limit 3000, ' +
        'Used 3000, Requested 1. Please try again in 20ms. (simulated)',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    });
    expect(error.headers!.get('retry-after')).toBe('1');
    expect(error.headers!.get('retry-after-ms')).toBe('20');
    expect(error.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toBe('1s');
    expect(sim.stats().rateLimited).toBe(1);

    // An invalid body is refused before the limiter: 400 (not 429), still with the headers.
    const invalid = await failureOf(client.chat.completions.create(unchecked({ model: 'm' })));
    expect(invalid.status).toBe(400);
    expect(invalid.headers!.get('x-ratelimit-remaining-requests')).toBe('0');

    clock.now += 19;
    expect(await failureOf(client.chat.completions.create(chatBody('early')))).toBeInstanceOf(RateLimitError);
    clock.now += 1; // exactly the Retry-After
    const { response } = await client.chat.completions.create(chatBody('on time')).withResponse();
    expect(response.headers.get('x-ratelimit-reset-requests')).toBe('1s');
  });

  it('rateBurstSeconds 60 admits a whole minute at once (the old window); rejections cost nothing', async () => {
    await limits({ rpm: 5, rateBurstSeconds: 60 });
    const client = clientFor(sim);
    for (let i = 0; i < 5; i++) await client.chat.completions.create(chatBody(`minute ${i}`));
    let error = await failureOf(client.chat.completions.create(chatBody('late')));
    for (let i = 0; i < 3; i++) error = await failureOf(client.chat.completions.create(chatBody('late')));
    expect(error.headers!.get('retry-after-ms')).toBe('12000'); // one of 5 per minute; the rejections were not charged
    expect(error.headers!.get('retry-after')).toBe('12');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toBe('1m0s');
    clock.now += 12_000;
    await expect(client.chat.completions.create(chatBody('late'))).resolves.toBeDefined();
  });

  it('enforces TPM with prompt tokens plus max_tokens', async () => {
    await limits({ tpm: 6_000 }); // 100 tokens per second, all of it at once
    const client = clientFor(sim);
    const body = (i: number) => chatBody(`tpm ${i}`, { max_tokens: 40 });
    const first = await client.chat.completions.create(body(1)).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('6000');
    const remaining = Number(first.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeLessThan(60); // charged prompt (~11) + 40, whatever the actual completion
    const cost = 100 - remaining;
    const error = await failureOf(client.chat.completions.create(body(2)));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.error.type).toBe('tokens');
    expect(error.error.message).toContain(
      `on tokens per min (TPM): Limit 6000, Used ${6000 - remaining}, Requested ${cost}.`,
    );
    expect(error.headers!.get('retry-after-ms')).toBe(String((cost - remaining) * 10));
    // An embedding small enough to fit the leftover tokens still passes.
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' })).resolves.toBeDefined();
  });

  it('refuses a request larger than the whole TPM limit', async () => {
    await limits({ tpm: 50 });
    const error = await failureOf(clientFor(sim).chat.completions.create(chatBody('big', { max_tokens: 500 })));
    expect(error.status).toBe(429);
    expect(error.message).toMatch(
      /Request too large for gpt-4o-mini .* on tokens per min \(TPM\): Limit 50, Requested \d+/,
    );
    expect(error.headers!.get('retry-after')).toBe('60');
  });

  it('sends no rate-limit headers when unlimited', async () => {
    await limits({});
    const { response } = await clientFor(sim).chat.completions.create(chatBody('free')).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });

  it('/_sim/reset {"rateLimits":"empty"} starts from a window in use', async () => {
    await limits({ rpm: 3000 });
    expect((await post('/_sim/reset', { rateLimits: 'empty' })).status).toBe(200);
    const error = await failureOf(clientFor(sim).chat.completions.create(chatBody('busy')));
    expect(error.headers!.get('retry-after-ms')).toBe('20');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toBe('1s');
    expect((await post('/_sim/reset', { rateLimits: 'half' })).status).toBe(400);
    sim.resetRateLimits('full');
    await expect(clientFor(sim).chat.completions.create(chatBody('fresh'))).resolves.toBeDefined();
  });

  it('background traffic set with /_sim/config halves what a client gets, and is reported apart', async () => {
    await limits({ rpm: 3000 });
    expect((await post('/_sim/config', { backgroundRpm: 1500 })).status).toBe(200);
    await post('/_sim/reset', { rateLimits: 'empty' });
    const client = clientFor(sim);
    const error = await failureOf(client.chat.completions.create(chatBody('bg')));
    expect(error.headers!.get('retry-after-ms')).toBe('40');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toBe('2s');
    expect(error.headers!.get('x-ratelimit-limit-requests')).toBe('3000');

    let admitted = 0;
    for (let ms = 0; ms < 2_000; ms += 10) {
      clock.now += 10;
      const result = await client.chat.completions.create(chatBody(`bg ${ms}`)).then(
        () => true,
        () => false,
      );
      if (result) admitted += 1;
    }
    expect(admitted).toBe(50); // 25 per second
    const stats = (await (await fetch(`${sim.origin}/_sim/stats`)).json()) as SimStats;
    expect(stats.background.requests).toBe(50);
    expect(stats.requests['/v1/chat/completions']).toEqual({ '200': 50, '429': 151 });
  });
});

it('background traffic from the CLI options shares the limit', async () => {
  const sim = await startSimulator({ rpm: 600, backgroundRpm: 300, rateBurstSeconds: 2 }, { now: () => clock.now });
  try {
    const { response } = await clientFor(sim).chat.completions.create(chatBody('cli')).withResponse();
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('19');
    expect(response.headers.get('x-ratelimit-reset-requests')).toBe('200ms'); // 1 at a net 5 per second
  } finally {
    await sim.close();
  }
});
