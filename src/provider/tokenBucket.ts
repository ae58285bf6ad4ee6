/**
 * One OpenAI-like limit (requests or tokens per minute) as a token bucket:
 * capacity comes back continuously at limit/60 per second, and at most
 * `burstSeconds` of it can pile up, so an idle client cannot spend a whole
 * minute's quota at once. Background traffic (other clients of the same
 * organisation) drains the bucket continuously at its own rate and goes first.
 *
 * Everything is computed from elapsed time when asked; no timers. The level
 * only moves monotonically between two events (it rises at the net rate up to
 * the capacity, or falls to 0), so evaluating it late gives the same answer
 * as evaluating it often.
 */
export const MINUTE_MS = 60_000;

/**
 * Float slack: a request that waited exactly its Retry-After must be admitted,
 * so waits aim at half the slack admission allows. Costs are whole numbers.
 */
const EPSILON = 1e-6;

export interface BucketParams {
  /** Per minute; > 0 (an unlimited limit has no bucket). */
  limit: number;
  /** Capacity as seconds of replenishment. */
  burstSeconds: number;
  /** Per minute consumed by other clients before this one. */
  background: number;
}

export class TokenBucket {
  private level: number;
  private at: number;
  /** Background consumption up to `at` (for stats; never counted as our requests). */
  private backgroundUsed = 0;

  constructor(
    private params: BucketParams,
    now: number,
  ) {
    this.level = this.capacity();
    this.at = now;
  }

  /** limit/60 × burst, at least 1; a bigger request may fill it up to its own cost. */
  capacity(cost = 0): number {
    return Math.max(1, (this.params.limit / MINUTE_MS) * this.params.burstSeconds * 1000, cost);
  }

  get limit(): number {
    return this.params.limit;
  }

  /** What this client gains per ms: the limit's rate less the background's. */
  private netPerMs(): number {
    return (this.params.limit - this.params.background) / MINUTE_MS;
  }

  levelAt(now: number, cap = this.capacity()): number {
    const elapsed = Math.max(0, now - this.at);
    return Math.min(cap, Math.max(0, this.level + this.netPerMs() * elapsed));
  }

  /** Background consumption so far: its full rate, unless the bucket ran dry (then what refills). */
  backgroundUsedAt(now: number): number {
    const elapsed = Math.max(0, now - this.at);
    const wanted = (this.params.background / MINUTE_MS) * elapsed;
    const available = this.level + (this.params.limit / MINUTE_MS) * elapsed;
    return this.backgroundUsed + Math.min(wanted, available);
  }

  /** Ms until `cost` is available; 0 when it is now, Infinity when the background takes everything. */
  waitFor(cost: number, now: number): number {
    const level = this.levelAt(now, this.capacity(cost));
    if (level >= cost - EPSILON) return 0;
    const net = this.netPerMs();
    return net > 0 ? (cost - EPSILON / 2 - level) / net : Infinity;
  }

  /** Ms until the bucket is full again (OpenAI's reset); Infinity when it never refills. */
  resetMs(now: number): number {
    const missing = this.capacity() - this.levelAt(now);
    if (missing <= EPSILON) return 0;
    const net = this.netPerMs();
    return net > 0 ? missing / net : Infinity;
  }

  remaining(now: number): number {
    return Math.floor(this.levelAt(now) + EPSILON);
  }

  /** Charge an admitted request (the caller checked `waitFor` is 0). */
  take(cost: number, now: number): void {
    this.moveTo(now, this.levelAt(now, this.capacity(cost)) - cost);
  }

  /** New limits take effect from `now`; a smaller capacity cuts the level, a bigger one is not a gift. */
  reconfigure(params: BucketParams, now: number): void {
    const level = this.levelAt(now);
    this.moveTo(now, level);
    this.params = params;
    this.level = Math.min(level, this.capacity());
  }

  fill(now: number): void {
    this.moveTo(now, this.capacity());
  }

  drain(now: number): void {
    this.moveTo(now, 0);
  }

  sameParams(params: BucketParams): boolean {
    const p = this.params;
    return p.limit === params.limit && p.burstSeconds === params.burstSeconds && p.background === params.background;
  }

  private moveTo(now: number, level: number): void {
    this.backgroundUsed = this.backgroundUsedAt(now);
    this.level = Math.max(0, level);
    this.at = Math.max(this.at, now);
  }
}
