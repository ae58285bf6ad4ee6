import { formatDuration, RateLimiter, type LimitOptions, type RateDecision } from '../../src/provider/rateLimiter';

/** A limiter on a fake clock; `limits` can be patched between calls like /_sim/config does. */
function fakeLimiter(initial: Partial<LimitOptions>) {
  const clock = { now: 0 };
  const limits: LimitOptions = { rpm: 0, tpm: 0, rateBurstSeconds: 1, backgroundRpm: 0, backgroundTpm: 0, ...initial };
  const limiter = new RateLimiter(
    () => limits,
    () => clock.now,
  );
  return { limiter, clock, limits };
}

type Rejected = Extract<RateDecision, { allowed: false }>;
const rejected = (decision: RateDecision): Rejected => {
  if (decision.allowed) throw new Error('expected a rejection');
  return decision;
};

function admittedNow(limiter: RateLimiter, tokenCost = 1): number {
  let admitted = 0;
  while (limiter.check(tokenCost).allowed) admitted += 1;
  return admitted;
}

/** A greedy client: every millisecond, as many requests as are admitted. Returns admissions per second. */
function greedyPerSecond(limiter: RateLimiter, clock: { now: number }, seconds: number, tokenCost = 1): number[] {
  const counts: number[] = new Array<number>(seconds).fill(0);
  const start = clock.now;
  for (let ms = 0; ms < seconds * 1000; ms++) {
    clock.now = start + ms;
    counts[Math.floor(ms / 1000)]! += admittedNow(limiter, tokenCost);
  }
  return counts;
}

describe('RateLimiter token buckets (fake clock)', () => {
  it('3,000 RPM: a burst of 50, then 50 per second, never a minute at once', () => {
    const { limiter, clock } = fakeLimiter({ rpm: 3000 });
    const counts = greedyPerSecond(limiter, clock, 60);
    expect(counts[0]).toBe(99); // 50 at once, then one every 20 ms (t = 20 … 980)
    for (const count of counts.slice(1)) expect(count).toBe(50);
    expect(counts.reduce((a, b) => a + b)).toBe(3049);
  });

  it('the burst is rateBurstSeconds of the limit, and at least one request', () => {
    const twoSeconds = fakeLimiter({ rpm: 3000, rateBurstSeconds: 2 });
    expect(greedyPerSecond(twoSeconds.limiter, twoSeconds.clock, 1)).toEqual([100 + 49]);
    const slow = fakeLimiter({ rpm: 6 }); // 0.1 per second: capacity floored at 1
    expect(greedyPerSecond(slow.limiter, slow.clock, 30)).toEqual([
      1,
      ...new Array<number>(9).fill(0),
      1,
      ...new Array<number>(9).fill(0),
      1,
      ...new Array<number>(9).fill(0),
    ]);
  });

  it('replenishes continuously and an idle bucket holds no more than its capacity', () => {
    const { limiter, clock } = fakeLimiter({ rpm: 3000 });
    limiter.reset('empty');
    clock.now = 19;
    expect(limiter.check(0).allowed).toBe(false);
    clock.now = 20;
    expect(limiter.check(0).allowed).toBe(true);
    clock.now = 600_000; // ten idle minutes
    expect(admittedNow(limiter)).toBe(50);
  });

  it('token limits: charged cost, exact wait, and a request bigger than the burst still passes', () => {
    const { limiter, clock } = fakeLimiter({ tpm: 60_000 }); // 1 token per ms, capacity 1,000
    expect(limiter.check(400).allowed).toBe(true);
    expect(limiter.check(400).allowed).toBe(true);
    const third = rejected(limiter.check(400));
    expect(third).toMatchObject({
      kind: 'tokens',
      retryAfterMs: 200,
      limit: 60_000,
      used: 59_800,
      requested: 400,
      tooLarge: false,
    });
    expect(third.headers).toMatchObject({
      'retry-after': '1',
      'retry-after-ms': '200',
      'x-ratelimit-remaining-tokens': '200',
    });

    limiter.reset('empty');
    expect(rejected(limiter.check(5_000)).retryAfterMs).toBe(5_000); // more than the capacity: it fills to its cost
    clock.now = 5_000;
    expect(limiter.check(5_000).allowed).toBe(true);

    const tooLarge = rejected(limiter.check(60_001));
    expect(tooLarge).toMatchObject({ kind: 'tokens', tooLarge: true, retryAfterMs: 60_000 });
  });

  it('admits only when both limits hold, and charges neither otherwise', () => {
    const { limiter } = fakeLimiter({ rpm: 600, tpm: 6_000, rateBurstSeconds: 60 });
    expect(limiter.check(5_000).allowed).toBe(true);
    const refused = rejected(limiter.check(2_000));
    expect(refused.kind).toBe('tokens');
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('599');
    expect(refused.headers['x-ratelimit-remaining-tokens']).toBe('1000');
    expect(limiter.check(1_000).allowed).toBe(true);
  });

  it('Retry-After is exactly when that request is admitted, and rejections cost nothing', () => {
    const cases: Partial<LimitOptions>[] = [
      { rpm: 3000 },
      { rpm: 7 },
      { tpm: 90_000 },
      { rpm: 3000, tpm: 40_000 },
      { rpm: 3000, backgroundRpm: 1700 },
      { tpm: 50_000, backgroundTpm: 12_345, rateBurstSeconds: 3 },
    ];
    for (const limits of cases) {
      const { limiter, clock } = fakeLimiter(limits);
      for (let round = 0; round < 20; round++) {
        let decision = limiter.check(700);
        while (decision.allowed) decision = limiter.check(700);
        const wait = Number(decision.headers['retry-after-ms']);
        expect(Number(decision.headers['retry-after'])).toBe(Math.max(1, Math.ceil(wait / 1000)));
        clock.now += wait - 1;
        for (let i = 0; i < 5; i++) expect(limiter.check(700).allowed).toBe(false);
        clock.now += 1;
        expect(limiter.check(700).allowed).toBe(true);
      }
    }
  });

  it('reset headers: time until the bucket is full again; remaining is the whole level', () => {
    const { limiter, clock, limits } = fakeLimiter({ rpm: 3000, tpm: 60_000 });
    expect(limiter.headers()).toEqual({
      'x-ratelimit-limit-requests': '3000',
      'x-ratelimit-remaining-requests': '50',
      'x-ratelimit-reset-requests': '0ms',
      'x-ratelimit-limit-tokens': '60000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '0ms',
    });
    expect(limiter.check(100).headers).toMatchObject({
      'x-ratelimit-remaining-requests': '49',
      'x-ratelimit-reset-requests': '20ms',
      'x-ratelimit-reset-tokens': '100ms',
    });
    limiter.reset('empty');
    expect(limiter.headers()).toMatchObject({
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '1s',
    });
    clock.now = 510;
    expect(limiter.headers()).toMatchObject({
      'x-ratelimit-remaining-requests': '25',
      'x-ratelimit-reset-requests': '490ms',
    });
    limits.backgroundRpm = 1500; // half the limit is gone to others: refilling takes twice as long
    expect(limiter.headers()).toMatchObject({
      'x-ratelimit-remaining-requests': '25',
      'x-ratelimit-reset-requests': '980ms',
    });
    limits.backgroundRpm = 3000; // never refills: stated as a minute
    expect(limiter.headers()['x-ratelimit-reset-requests']).toBe('1m0s');
  });
});

describe('background traffic (fake clock)', () => {
  it('3,000 RPM with 1,500 in the background: a greedy client gets 25 per second', () => {
    const { limiter, clock } = fakeLimiter({ rpm: 3000, backgroundRpm: 1500 });
    const counts = greedyPerSecond(limiter, clock, 60);
    expect(counts[0]).toBe(50 + 24); // the burst, then one every 40 ms
    for (const count of counts.slice(1)) expect(count).toBe(25);
    clock.now = 60_000;
    expect(limiter.backgroundUsage().requests).toBe(1500); // 25 per second for 60 s
  });

  it('takes priority: it drains a full bucket that nobody else uses', () => {
    const { limiter, clock } = fakeLimiter({ rpm: 3000, backgroundRpm: 4000 });
    clock.now = 3_000; // 50 drained at a net 1,000 RPM takes 3 s
    expect(limiter.headers()['x-ratelimit-remaining-requests']).toBe('0');
    const refused = rejected(limiter.check(0));
    expect(refused.retryAfterMs).toBe(60_000); // no wait helps while the background takes everything
    expect(refused.headers['retry-after']).toBe('60');
  });

  it('never takes the bucket below zero', () => {
    const { limiter, clock, limits } = fakeLimiter({ rpm: 3000, backgroundRpm: 6000 });
    clock.now = 60_000;
    expect(limiter.backgroundUsage().requests).toBe(3050); // the burst, then all that refilled
    limits.backgroundRpm = 0;
    limiter.applyLimits(); // as the simulator does on /_sim/config
    clock.now += 20; // from exactly 0, one request's worth
    expect(limiter.check(0).allowed).toBe(true);
    expect(limiter.check(0).allowed).toBe(false);
  });

  it('drains tokens too', () => {
    const { limiter, clock } = fakeLimiter({ tpm: 60_000, backgroundTpm: 30_000 });
    const counts = greedyPerSecond(limiter, clock, 10, 100);
    for (const count of counts.slice(1)) expect(count).toBe(5); // 500 tokens per second left
    clock.now = 10_000;
    expect(limiter.backgroundUsage().tokens).toBe(5_000);
  });
});

describe('runtime changes', () => {
  it('a limit that appears starts full; a smaller capacity cuts the level; a bigger one is no gift', () => {
    const { limiter, clock, limits } = fakeLimiter({});
    expect(limiter.headers()).toEqual({});
    limits.rpm = 3000;
    expect(limiter.headers()['x-ratelimit-remaining-requests']).toBe('50');
    limits.rpm = 600;
    expect(limiter.headers()['x-ratelimit-remaining-requests']).toBe('10');
    limits.rpm = 6000;
    expect(limiter.headers()['x-ratelimit-remaining-requests']).toBe('10');
    clock.now = 1_000; // refills at the new rate: 100 per second, up to 100
    expect(limiter.headers()['x-ratelimit-remaining-requests']).toBe('100');
  });

  it('reset: full is a fresh window, empty a window in use', () => {
    const { limiter } = fakeLimiter({ rpm: 3000, tpm: 90_000 });
    limiter.reset('empty');
    expect(rejected(limiter.check(10)).retryAfterMs).toBe(20);
    limiter.reset('full');
    expect(limiter.headers()).toMatchObject({
      'x-ratelimit-remaining-requests': '50',
      'x-ratelimit-remaining-tokens': '1500',
    });
  });
});

describe('formatDuration', () => {
  it('formats reset durations like OpenAI', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(120)).toBe('120ms');
    expect(formatDuration(19.2)).toBe('20ms');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(6500)).toBe('6.5s');
    expect(formatDuration(60_000)).toBe('1m0s');
  });
});
