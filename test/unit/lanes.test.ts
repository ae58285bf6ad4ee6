import { Lane, LaneRegistry, parseResetDuration } from '../../src/activities/lanes';
import { estimateTokens } from '../../src/shared/tokens';

describe('parseResetDuration', () => {
  it.each([
    ['1s', 1000],
    ['120ms', 120],
    ['6m0s', 360_000],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
  ])('%s is %i ms', (text, ms) => expect(parseResetDuration(text)).toBe(ms));
  it('ignores what it cannot read', () => {
    expect(parseResetDuration(null)).toBeUndefined();
    expect(parseResetDuration('soon')).toBeUndefined();
  });
});

describe('Lane', () => {
  let now = 0;
  const clock = () => now;

  it('holds requests while paused by a 429', async () => {
    now = 1_000;
    const lane = new Lane('l', { rpm: 0, tpm: 0 }, clock);
    lane.pauseFor(500);
    expect(lane.pausedForMs).toBe(500);
    now = 1_600;
    expect(lane.pausedForMs).toBe(0);
    await lane.acquire(10); // resolves at once: the pause is over
  });

  it('pauses until the reset when the provider says nothing remains', () => {
    now = 0;
    const lane = new Lane('l', { rpm: 0, tpm: 0 }, clock);
    lane.observe(new Headers({ 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-reset-requests': '2s' }));
    expect(lane.pausedForMs).toBe(0);
    lane.observe(new Headers({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1.5s' }));
    expect(lane.pausedForMs).toBe(1500);
  });

  it('keeps a local RPM limit over a sliding 60 s window', async () => {
    now = 0;
    const lane = new Lane('l', { rpm: 2, tpm: 0 }, clock);
    await lane.acquire(1);
    await lane.acquire(1);
    const third = lane.acquire(1, AbortSignal.timeout(50));
    await expect(third).rejects.toBeDefined(); // would have to wait ~60 s
    now = 60_001;
    await lane.acquire(1);
  });

  it('keeps counting right over many windows (old bookings trimmed and compacted)', async () => {
    now = 0;
    const lane = new Lane('l', { rpm: 3000, tpm: 0 }, clock);
    // 50 a second for 150 s: always exactly at the limit, never over it.
    for (let i = 0; i < 7500; i++) {
      now = i * 20;
      await lane.acquire(1, AbortSignal.timeout(1000));
    }
    // 3,000 booked in the last 60 s: one more now must wait for the oldest to leave.
    await expect(lane.acquire(1, AbortSignal.timeout(20))).rejects.toBeDefined();
    now += 20;
    await lane.acquire(1);
  });

  it('keeps a local TPM limit but lets one oversized request through alone', async () => {
    now = 0;
    const lane = new Lane('l', { rpm: 0, tpm: 100 }, clock);
    await lane.acquire(500); // bigger than the budget: alone, it goes
    await expect(lane.acquire(10, AbortSignal.timeout(50))).rejects.toBeDefined();
  });

  it('the registry gives one lane per endpoint and model', () => {
    const r = new LaneRegistry();
    expect(r.get('/v1/chat/completions', 'a')).toBe(r.get('/v1/chat/completions', 'a'));
    expect(r.get('/v1/chat/completions', 'a')).not.toBe(r.get('/v1/chat/completions', 'b'));
    expect(r.get('/v1/embeddings', 'a')).not.toBe(r.get('/v1/chat/completions', 'a'));
  });
});

describe('estimateTokens', () => {
  const chat = (content: string, extra: Record<string, unknown> = {}) =>
    ({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content }], ...extra } }) as const;

  it('counts prompt tokens with a real tokenizer plus the completion budget', () => {
    const short = estimateTokens(chat('hi', { max_tokens: 10 }));
    const long = estimateTokens(chat('the quick brown fox jumps over the lazy dog '.repeat(20), { max_tokens: 10 }));
    expect(long - short).toBeGreaterThan(150); // ~9 tokens per repeat
    expect(estimateTokens(chat('hi', { max_tokens: 100 })) - short).toBe(90);
    expect(estimateTokens(chat('hi', { max_tokens: 10, n: 3 })) - short).toBe(20);
  });

  it('counts embeddings input only', () => {
    const t = estimateTokens({ custom_id: 'e', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'hello world' } });
    expect(t).toBe(2);
  });
});
