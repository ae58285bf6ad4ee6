import { Lane, LaneRegistry, type Ticket } from '../../src/activities/lanes';

/**
 * A provider's request limit as OpenAI applies it: a bucket replenished at limit/60 per second holding
 * at most one second of it, drained first by other clients' `background` traffic. Answers carry headers.
 */
class FakeProvider {
  private level: number;
  private at = Date.now();
  admitted = 0;
  rejected = 0;

  constructor(
    private readonly rpm: number,
    private readonly background = 0,
    start: 'full' | 'empty' = 'full',
  ) {
    this.level = start === 'full' ? this.capacity : 0;
  }

  private get capacity(): number {
    return this.rpm / 60;
  }

  private refill(): void {
    const now = Date.now();
    this.level = Math.max(
      0,
      Math.min(this.capacity, this.level + ((this.rpm - this.background) / 60_000) * (now - this.at)),
    );
    this.at = now;
  }

  /** One request: admitted (with headers) or a 429 with its Retry-After. */
  call(): { ok: boolean; headers: Headers; retryAfterMs: number } {
    this.refill();
    const ok = this.level >= 1;
    if (ok) this.level -= 1;
    if (ok) this.admitted++;
    else this.rejected++;
    const headers = new Headers({
      'x-ratelimit-limit-requests': String(this.rpm),
      'x-ratelimit-remaining-requests': String(Math.floor(this.level)),
    });
    return { ok, headers, retryAfterMs: ok ? 0 : ((1 - this.level) * 60_000) / (this.rpm - this.background) };
  }
}

/** `workers` processes (a lane each) with `concurrency` requests each, against one provider, for `ms` of fake time. */
async function drive(
  provider: FakeProvider,
  lanes: Lane[],
  concurrency: number,
  ms: number,
): Promise<{ gaps: number[] }> {
  const end = Date.now() + ms;
  let last = Date.now();
  const gaps: number[] = [];
  const loop = async (lane: Lane): Promise<void> => {
    while (Date.now() < end) {
      const ticket = await lane.acquire(1);
      if (Date.now() >= end) return;
      const answer = provider.call();
      gaps.push(Date.now() - last);
      last = Date.now();
      if (answer.ok) lane.observe(answer.headers, ticket);
      else lane.rateLimited(answer.retryAfterMs, answer.headers, ticket);
    }
  };
  const loops = lanes.flatMap((lane) => Array.from({ length: concurrency }, () => loop(lane)));
  while (Date.now() < end) await jest.advanceTimersByTimeAsync(5);
  await jest.advanceTimersByTimeAsync(6_000);
  await Promise.all(loops);
  return { gaps };
}

describe('Lane', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());
  const lane = (limits = { rpm: 0, tpm: 0 }, onLearned?: (l: { rpm: number; tpm: number }) => void) =>
    new Lane('l', limits, Date.now, onLearned);

  it('sends a cold lane’s first request alone, then paces by what its answer said', async () => {
    const l = lane();
    const first = await l.acquire(1);
    let second = false;
    void l.acquire(1).then(() => (second = true));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(second).toBe(false); // held until the probe answers
    l.observe(new Headers({ 'x-ratelimit-limit-requests': '3000', 'x-ratelimit-remaining-requests': '49' }), first);
    await jest.advanceTimersByTimeAsync(0);
    expect(second).toBe(true);
  });

  it('does not pace a provider that states no limits', async () => {
    const l = lane();
    l.observe(new Headers(), await l.acquire(1));
    const start = Date.now();
    for (let i = 0; i < 1000; i++) await l.acquire(1);
    expect(Date.now()).toBe(start);
  });

  it('learns a 1,200 RPM limit and reaches over 95% of it over 60 s with under 1% 429s', async () => {
    const provider = new FakeProvider(1200);
    const learned: unknown[] = [];
    await drive(provider, [lane(undefined, (l) => learned.push(l))], 50, 60_000);
    expect(provider.admitted).toBeGreaterThanOrEqual(0.95 * 1200);
    expect(provider.admitted).toBeLessThanOrEqual(1200 + 20 + 1); // the limit plus the burst the provider allows
    expect(provider.rejected / (provider.admitted + provider.rejected)).toBeLessThan(0.01);
    expect(learned).toEqual([{ rpm: 1200, tpm: 0 }]);
  });

  it('from a window that is in use, gets what other clients leave, with under 1% 429s and no long gap', async () => {
    const provider = new FakeProvider(3000, 1500, 'empty');
    const { gaps } = await drive(provider, [lane()], 50, 60_000);
    expect(provider.admitted).toBeGreaterThanOrEqual(0.95 * 1500);
    expect(provider.admitted).toBeLessThanOrEqual(1500 + 50);
    expect(provider.rejected / (provider.admitted + provider.rejected)).toBeLessThan(0.01);
    expect(Math.max(...gaps)).toBeLessThan(1_000);
  });

  it('three processes sharing one limit stay within it together and use over 95% of it', async () => {
    const provider = new FakeProvider(3000);
    await drive(provider, [lane(), lane(), lane()], 20, 60_000);
    expect(provider.admitted).toBeGreaterThanOrEqual(0.95 * 3000);
    expect(provider.admitted).toBeLessThanOrEqual(3000 + 50);
    expect(provider.rejected / (provider.admitted + provider.rejected)).toBeLessThan(0.01);
  });

  it('once the other processes stop, one takes the whole limit again', async () => {
    const provider = new FakeProvider(3000);
    const [first, ...others] = [lane(), lane(), lane()] as const;
    await drive(provider, [first, ...others], 20, 10_000);
    const before = provider.admitted;
    await drive(provider, [first], 20, 20_000);
    expect(provider.admitted - before).toBeGreaterThanOrEqual(0.9 * 1000);
    expect(provider.rejected / (provider.admitted + provider.rejected)).toBeLessThan(0.01);
  });

  it('a configured limit lower than the provider’s wins', async () => {
    const provider = new FakeProvider(3000);
    await drive(provider, [lane({ rpm: 600, tpm: 0 })], 10, 30_000);
    expect(provider.admitted).toBeGreaterThanOrEqual(0.95 * 300);
    expect(provider.admitted).toBeLessThanOrEqual(300 + 5);
  });

  it('a 429 waits its Retry-After only, not the full reset, and cuts the rate, which comes back', async () => {
    const l = lane();
    const headers = new Headers({
      'x-ratelimit-limit-requests': '600',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '59s',
    });
    const ticket: Ticket = await l.acquire(1);
    l.rateLimited(250, headers, ticket);
    expect(l.pausedForMs).toBe(250);
    expect(l.rateFactor()).toBeCloseTo(0.7);
    // A second 429 for a request sent before the cut does not cut again.
    l.rateLimited(250, headers, ticket);
    expect(l.rateFactor()).toBeCloseTo(0.7);
    jest.advanceTimersByTime(3_000);
    expect(l.rateFactor()).toBeCloseTo(1);
    await jest.advanceTimersByTimeAsync(0);
    await l.acquire(1); // the pause is long over
  });

  it('an aborted wait leaves the queue', async () => {
    const l = lane({ rpm: 60, tpm: 0 });
    l.observe(new Headers(), await l.acquire(1)); // the next may go a second later
    const controller = new AbortController();
    const waiting = l.acquire(1, controller.signal);
    const next = l.acquire(1);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    // The aborted wait gave its turn to the next one: it goes after one interval, not two.
    await jest.advanceTimersByTimeAsync(1_000);
    await next;
  });

  it('the registry gives one lane per endpoint and model, with the per-process limits', () => {
    const r = new LaneRegistry({ rpm: 60, tpm: 0 });
    expect(r.get('/v1/chat/completions', 'a')).toBe(r.get('/v1/chat/completions', 'a'));
    expect(r.get('/v1/chat/completions', 'a')).not.toBe(r.get('/v1/chat/completions', 'b'));
    expect(r.get('/v1/embeddings', 'a')).not.toBe(r.get('/v1/chat/completions', 'a'));
    expect(r.get('/v1/chat/completions', 'a').countsTokens).toBe(false);
  });
});
