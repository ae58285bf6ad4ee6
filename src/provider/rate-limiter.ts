/**
 * Global RPM/TPM limits as sliding 60-second windows. A window remembers what
 * it admitted (timestamp, cost), so it can say exactly when a rejected request
 * would fit; rejected requests are never recorded, so they cost no quota.
 */
export const WINDOW_MS = 60_000;

export interface WindowState {
  limit: number;
  remaining: number;
  /** Until the window is empty again (OpenAI: "resets to its initial state"). */
  resetMs: number;
}

export class SlidingWindow {
  private times: number[] = [];
  private costs: number[] = [];
  private head = 0;
  private used = 0;

  private evict(now: number): void {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= now - WINDOW_MS) {
      this.used -= this.costs[this.head] ?? 0;
      this.head += 1;
    }
    // Compact now and then so the arrays do not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.costs = this.costs.slice(this.head);
      this.head = 0;
    }
  }

  /** Milliseconds until `cost` more would fit under `limit`; 0 when it fits now. */
  waitFor(cost: number, limit: number, now: number): number {
    this.evict(now);
    let excess = this.used + cost - limit;
    if (excess <= 0) return 0;
    for (let i = this.head; i < this.times.length; i++) {
      excess -= this.costs[i] ?? 0;
      if (excess <= 0) return (this.times[i] ?? now) + WINDOW_MS - now;
    }
    return WINDOW_MS; // larger than the whole limit: no wait will help
  }

  record(cost: number, now: number): void {
    this.times.push(now);
    this.costs.push(cost);
    this.used += cost;
  }

  state(limit: number, now: number): WindowState {
    this.evict(now);
    const newest = this.times[this.times.length - 1];
    const empty = this.head >= this.times.length || newest === undefined;
    return {
      limit,
      remaining: Math.max(0, limit - this.used),
      resetMs: empty ? 0 : Math.max(0, newest + WINDOW_MS - now),
    };
  }

  clear(): void {
    this.times = [];
    this.costs = [];
    this.head = 0;
    this.used = 0;
  }
}

export type RateDecision =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; headers: Record<string, string>; retryAfterMs: number; kind: 'requests' | 'tokens'; tooLarge: boolean };

export class RateLimiter {
  private readonly requests = new SlidingWindow();
  private readonly tokens = new SlidingWindow();

  /** Admit (and charge) one request of `tokenCost` tokens, or say how long to wait. 0 = unlimited. */
  check(rpm: number, tpm: number, tokenCost: number, now = Date.now()): RateDecision {
    const requestWait = rpm > 0 ? this.requests.waitFor(1, rpm, now) : 0;
    const tokenWait = tpm > 0 ? this.tokens.waitFor(tokenCost, tpm, now) : 0;
    if (requestWait === 0 && tokenWait === 0) {
      if (rpm > 0) this.requests.record(1, now);
      if (tpm > 0) this.tokens.record(tokenCost, now);
      return { allowed: true, headers: this.headers(rpm, tpm, now) };
    }
    const retryAfterMs = Math.max(requestWait, tokenWait);
    const headers = this.headers(rpm, tpm, now);
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.ceil(retryAfterMs));
    return {
      allowed: false,
      headers,
      retryAfterMs,
      kind: requestWait >= tokenWait ? 'requests' : 'tokens',
      tooLarge: tpm > 0 && tokenCost > tpm,
    };
  }

  /** x-ratelimit-* headers; a limit of 0 (unlimited) has no numbers to report. */
  headers(rpm: number, tpm: number, now = Date.now()): Record<string, string> {
    const headers: Record<string, string> = {};
    const add = (name: string, window: SlidingWindow, limit: number): void => {
      const state = window.state(limit, now);
      headers[`x-ratelimit-limit-${name}`] = String(state.limit);
      headers[`x-ratelimit-remaining-${name}`] = String(state.remaining);
      headers[`x-ratelimit-reset-${name}`] = formatDuration(state.resetMs);
    };
    if (rpm > 0) add('requests', this.requests, rpm);
    if (tpm > 0) add('tokens', this.tokens, tpm);
    return headers;
  }

  clear(): void {
    this.requests.clear();
    this.tokens.clear();
  }
}

/** OpenAI's reset format: "120ms", "1s", "6.5s", "1m0s". */
export function formatDuration(ms: number): string {
  const rounded = Math.ceil(ms);
  if (rounded < 1000) return `${rounded}ms`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = Number(((rounded % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
