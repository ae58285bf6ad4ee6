/**
 * This process's picture of one of a provider's limits (requests or tokens per minute), read from the
 * `x-ratelimit-*` headers of its answers. Providers (OpenAI, our simulator) replenish capacity
 * continuously at limit/60 per second, and `remaining` is what was left once a request was admitted.
 * So the capacity left now is about: the last reading, plus what replenished since that request was
 * sent, minus what this process sent after it. What other clients of the same organisation (other
 * workers, other programs) spend shows up in the next reading: the gap between what a reading says and
 * what the last one predicted, over the last few seconds, is their rate, and what replenishes for this
 * process is the limit's rate less theirs.
 */

/** The others' rate is measured over this much of the recent past. */
const OTHERS_WINDOW_MS = 3_000;
/** ...once readings cover at least this much of it. */
const OTHERS_MIN_SPAN_MS = 300;
/** The others never take more than this share of the limit, by our estimate: some rate is always left to probe with. */
const OTHERS_MAX_SHARE = 0.9;
export class ProviderBudget {
  /** The provider's limit per minute (`x-ratelimit-limit-*`); 0 until an answer states it. */
  limit = 0;
  /** The most the provider ever said remained: its burst capacity, as far as we have seen. */
  private seenCapacity = 0;
  private reading?: { remaining: number; at: number; sentThen: number };
  /** What this process has booked, in this budget's unit, since it started. */
  private sent = 0;
  /** What the others drew between consecutive readings (span in ms, amount), the oldest from `othersHead`. */
  private othersSamples: { at: number; span: number; drawn: number }[] = [];
  private othersHead = 0;
  private othersTotal = { span: 0, drawn: 0 };
  /** The others' rate per millisecond, by the samples. */
  private othersPerMs = 0;

  /** Capacity the provider replenishes per millisecond for this process: the limit's rate less the others'. */
  get perMs(): number {
    return Math.max(0, this.limit / 60_000 - this.othersPerMs);
  }

  /** The rate per minute left for this process, as far as its readings tell (the limit until they show others). */
  get available(): number {
    return this.perMs * 60_000;
  }

  /**
   * What the provider holds at most (its burst): the most it ever said remained, and at least one second
   * of the limit (OpenAI enforces a limit over periods that short), since a window found in use never shows it.
   */
  get capacity(): number {
    return Math.max(1, this.seenCapacity, this.limit / 60);
  }

  /** The level to pace around: half the capacity, at most half a second of replenishment. */
  get target(): number {
    return Math.max(1, Math.min(this.capacity, this.perMs * 1000) / 2);
  }

  /** Books a send of `cost`; the running total it returns is quoted back with the answer (`observe`). */
  book(cost: number): number {
    this.sent += cost;
    return this.sent;
  }

  /** A request booked but refused (a 429): the provider did not charge it. */
  refund(cost: number): void {
    this.sent -= cost;
  }

  /**
   * A reading from the answer to a request sent at `at`, when `sentThen` had been booked (that request
   * included, unless the provider refused it: `uncharged` is then its cost, refunded).
   */
  observe(limit: number, remaining: number, at: number, sentThen: number, uncharged = 0): void {
    if (limit !== this.limit) this.forgetOthers();
    this.limit = limit;
    this.seenCapacity = Math.max(this.seenCapacity, remaining);
    const spent = sentThen - uncharged;
    const last = this.reading;
    // An answer to a request older than the last reading's says less about now: keep the newer one.
    if (last && spent < last.sentThen) return;
    if (last && at > last.at) this.sampleOthers(last, remaining, at, spent);
    this.reading = { remaining, at, sentThen: spent };
  }

  private forgetOthers(): void {
    this.othersPerMs = 0;
    this.othersSamples = [];
    this.othersHead = 0;
    this.othersTotal = { span: 0, drawn: 0 };
  }

  /**
   * What the others drew between two readings: the capacity the first predicts at the second's time, at
   * the limit's full rate, less what the second says. A span where the bucket may have been full says
   * nothing (what replenished past the capacity was lost, not drawn), so it is left out.
   */
  private sampleOthers(
    last: { remaining: number; at: number; sentThen: number },
    remaining: number,
    at: number,
    sent: number,
  ): void {
    const span = at - last.at;
    const predicted = last.remaining + (this.limit / 60_000) * span - (sent - last.sentThen);
    if (last.remaining + (this.limit / 60_000) * span >= this.capacity - 1) {
      // The capacity was there for the taking: whatever the others drew before, they leave room now. An
      // estimate kept from busier times would hold this process to a fraction of an idle provider.
      this.forgetOthers();
      return;
    }
    const sample = { at, span, drawn: predicted - remaining };
    this.othersSamples.push(sample);
    this.othersTotal.span += sample.span;
    this.othersTotal.drawn += sample.drawn;
    // Running totals and a moving head: this runs on every answer, at thousands a second on a high limit.
    for (
      let oldest = this.othersSamples[this.othersHead];
      oldest && oldest.at < at - OTHERS_WINDOW_MS;
      oldest = this.othersSamples[this.othersHead]
    ) {
      this.othersTotal.span -= oldest.span;
      this.othersTotal.drawn -= oldest.drawn;
      this.othersHead += 1;
    }
    if (this.othersHead > 1024 && this.othersHead * 2 > this.othersSamples.length) {
      this.othersSamples = this.othersSamples.slice(this.othersHead);
      this.othersHead = 0;
    }
    const { span: covered, drawn } = this.othersTotal;
    if (covered < OTHERS_MIN_SPAN_MS) return;
    this.othersPerMs = Math.min(OTHERS_MAX_SHARE * (this.limit / 60_000), Math.max(0, drawn / covered));
  }

  /** Estimated capacity left now; undefined before any reading. */
  estimate(now: number): number | undefined {
    const r = this.reading;
    if (!r) return undefined;
    // Capped after our sends since, not before: those were drawn while the capacity replenished.
    const level = r.remaining + this.perMs * Math.max(0, now - r.at) - (this.sent - r.sentThen);
    return Math.min(this.capacity, level);
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

/**
 * Reads `x-ratelimit-limit-<kind>` and `x-ratelimit-remaining-<kind>`; undefined when either is missing or
 * unreadable.
 */
export function readLimitHeaders(
  headers: Headers,
  kind: 'requests' | 'tokens',
): { limit: number; remaining: number } | undefined {
  const limit = Number(headers.get(`x-ratelimit-limit-${kind}`) ?? NaN);
  const remaining = Number(headers.get(`x-ratelimit-remaining-${kind}`) ?? NaN);
  if (!(limit > 0) || !Number.isFinite(remaining)) return undefined;
  return { limit, remaining: Math.max(0, remaining) };
}
