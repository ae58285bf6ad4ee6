/**
 * This process's picture of one of a provider's limits (requests or tokens per minute), read from the
 * `x-ratelimit-*` headers of its answers. Providers (OpenAI, our simulator) replenish capacity
 * continuously at limit/60 per second, and `remaining` is what was left once a request was admitted.
 * So the capacity left now is about: the last reading, plus what replenished since that request was
 * sent, minus what this process sent after it. What other clients of the same organisation (other
 * workers, other programs) spend shows up in the next reading.
 */
export class ProviderBudget {
  /** The provider's limit per minute (`x-ratelimit-limit-*`); 0 until an answer states it. */
  limit = 0;
  /** The most the provider ever said remained: its burst capacity, as far as we have seen. */
  private seenCapacity = 0;
  private reading?: { remaining: number; at: number; sentThen: number };
  /** What this process has booked, in this budget's unit, since it started. */
  private sent = 0;

  /** Capacity the provider replenishes per millisecond. */
  get perMs(): number {
    return this.limit / 60_000;
  }

  get known(): boolean {
    return this.limit > 0 && this.reading !== undefined;
  }

  /** The level to pace around: half what the provider has shown it holds, at most half a second of replenishment. */
  get target(): number {
    return Math.max(1, Math.min(this.seenCapacity, this.perMs * 1000) / 2);
  }

  /** Books a send of `cost`; the running total it returns is quoted back with the answer (`observe`). */
  book(cost: number): number {
    this.sent += cost;
    return this.sent;
  }

  /** A reading from the answer to a request sent at `at`, when `sentThen` had been booked (that request included). */
  observe(limit: number, remaining: number, at: number, sentThen: number): void {
    this.limit = limit;
    this.seenCapacity = Math.max(this.seenCapacity, remaining);
    // An answer to a request older than the last reading's says less about now: keep the newer one.
    if (this.reading && sentThen < this.reading.sentThen) return;
    this.reading = { remaining, at, sentThen };
  }

  /** Estimated capacity left now; undefined before any reading. */
  estimate(now: number): number | undefined {
    const r = this.reading;
    if (!r) return undefined;
    // Capped after our sends since, not before: those were drawn while the capacity replenished.
    const level = r.remaining + this.perMs * Math.max(0, now - r.at) - (this.sent - r.sentThen);
    return Math.min(Math.max(this.seenCapacity, 1), level);
  }

  /** Milliseconds until `cost` more would fit, by the estimate; 0 when it fits now. */
  waitFor(cost: number, now: number): number {
    const level = this.estimate(now);
    if (level === undefined || level >= cost || this.perMs === 0) return 0;
    return (cost - level) / this.perMs;
  }

  /**
   * How much of the full rate to use now (0..1): all of it while the estimated capacity is at or above
   * the target, less as it falls below. Several processes drawing on one budget thus settle where their
   * sum equals what the provider replenishes, with capacity to spare, instead of racing it to zero.
   */
  share(now: number): number {
    const level = this.estimate(now);
    if (level === undefined) return 1;
    return Math.min(1, Math.max(0, level / this.target));
  }
}

/** Reads `x-ratelimit-limit-<kind>` and `x-ratelimit-remaining-<kind>`; undefined when either is missing or unreadable. */
export function readLimitHeaders(headers: Headers, kind: 'requests' | 'tokens'): { limit: number; remaining: number } | undefined {
  const limit = Number(headers.get(`x-ratelimit-limit-${kind}`) ?? NaN);
  const remaining = Number(headers.get(`x-ratelimit-remaining-${kind}`) ?? NaN);
  if (!(limit > 0) || !Number.isFinite(remaining)) return undefined;
  return { limit, remaining: Math.max(0, remaining) };
}
