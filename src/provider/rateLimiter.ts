import { MINUTE_MS, TokenBucket, type BucketParams } from './tokenBucket';

/**
 * Global RPM/TPM limits as OpenAI enforces them: a token bucket per limit
 * (see tokenBucket.ts). A request is admitted only when both buckets hold its
 * cost, and only then charged; a rejected request costs nothing.
 */
export interface LimitOptions {
  rpm: number;
  tpm: number;
  rateBurstSeconds: number;
  backgroundRpm: number;
  backgroundTpm: number;
}

export type LimitKind = 'requests' | 'tokens';

export type RateDecision =
  | { allowed: true; headers: Record<string, string> }
  | {
      allowed: false;
      headers: Record<string, string>;
      retryAfterMs: number;
      kind: LimitKind;
      tooLarge: boolean;
      limit: number;
      /** limit - remaining, as in OpenAI's "Used" */
      used: number;
      requested: number;
    };

/** `full`: nothing used recently (a fresh window). `empty`: the window is in use, nothing left. */
export type BucketState = 'full' | 'empty';

/** Stated when no wait helps: the request exceeds the whole limit, or background takes it all. */
const NO_HOPE_MS = MINUTE_MS;

export class RateLimiter {
  private readonly buckets: Record<LimitKind, TokenBucket | undefined> = { requests: undefined, tokens: undefined };
  /** Background use of buckets since dropped (a limit set to 0), so the stats never go back. */
  private readonly retiredBackground: Record<LimitKind, number> = { requests: 0, tokens: 0 };

  constructor(
    private readonly limits: () => LimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.applyLimits();
  }

  /**
   * Take the current limits into account from now. Every call does this too,
   * but background traffic drains between calls, so a change should be applied
   * when it is made (the simulator calls this on every option change).
   */
  applyLimits(): void {
    const now = this.now();
    this.bucket('requests', now);
    this.bucket('tokens', now);
  }

  /** Admit (and charge) one request of `tokenCost` tokens, or say how long to wait. */
  check(tokenCost: number): RateDecision {
    const now = this.now();
    const requests = this.bucket('requests', now);
    const tokens = this.bucket('tokens', now);
    const tooLarge = tokens !== undefined && tokenCost > tokens.limit;
    const requestWait = requests?.waitFor(1, now) ?? 0;
    const tokenWait = tooLarge ? Infinity : (tokens?.waitFor(tokenCost, now) ?? 0);
    if (requestWait === 0 && tokenWait === 0) {
      requests?.take(1, now);
      tokens?.take(tokenCost, now);
      return { allowed: true, headers: this.headersAt(now) };
    }
    const kind: LimitKind = tokenWait > requestWait ? 'tokens' : 'requests';
    const bucket = (kind === 'tokens' ? tokens : requests)!;
    const retryAfterMs = Math.ceil(Math.min(NO_HOPE_MS, Math.max(requestWait, tokenWait)));
    const headers = this.headersAt(now);
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(retryAfterMs);
    const requested = kind === 'tokens' ? tokenCost : 1;
    return {
      allowed: false,
      headers,
      retryAfterMs,
      kind,
      tooLarge,
      limit: bucket.limit,
      used: bucket.limit - bucket.remaining(now),
      requested,
    };
  }

  /** x-ratelimit-* headers; a limit of 0 (unlimited) has no numbers to report. */
  headers(): Record<string, string> {
    return this.headersAt(this.now());
  }

  /** Start over from a fresh window (`full`) or one in use (`empty`). */
  reset(state: BucketState = 'full'): void {
    const now = this.now();
    for (const kind of ['requests', 'tokens'] as const) {
      const bucket = this.bucket(kind, now);
      if (state === 'full') bucket?.fill(now);
      else bucket?.drain(now);
    }
  }

  /** What background traffic has consumed so far (whole requests and tokens). */
  backgroundUsage(): { requests: number; tokens: number } {
    const now = this.now();
    const used = (kind: LimitKind) =>
      Math.floor(this.retiredBackground[kind] + (this.bucket(kind, now)?.backgroundUsedAt(now) ?? 0));
    return { requests: used('requests'), tokens: used('tokens') };
  }

  private headersAt(now: number): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const kind of ['requests', 'tokens'] as const) {
      const bucket = this.bucket(kind, now);
      if (bucket === undefined) continue;
      headers[`x-ratelimit-limit-${kind}`] = String(bucket.limit);
      headers[`x-ratelimit-remaining-${kind}`] = String(bucket.remaining(now));
      headers[`x-ratelimit-reset-${kind}`] = formatDuration(Math.min(NO_HOPE_MS, bucket.resetMs(now)));
    }
    return headers;
  }

  /** The bucket for the current options: made full when a limit appears, adjusted when it changes. */
  private bucket(kind: LimitKind, now: number): TokenBucket | undefined {
    const params = this.paramsOf(kind);
    const bucket = this.buckets[kind];
    if (params === undefined) {
      if (bucket !== undefined) this.retiredBackground[kind] += bucket.backgroundUsedAt(now);
      this.buckets[kind] = undefined;
      return undefined;
    }
    if (bucket === undefined) return (this.buckets[kind] = new TokenBucket(params, now));
    if (!bucket.sameParams(params)) bucket.reconfigure(params, now);
    return bucket;
  }

  private paramsOf(kind: LimitKind): BucketParams | undefined {
    const o = this.limits();
    const limit = kind === 'requests' ? o.rpm : o.tpm;
    if (limit <= 0) return undefined;
    return {
      limit,
      burstSeconds: o.rateBurstSeconds,
      background: kind === 'requests' ? o.backgroundRpm : o.backgroundTpm,
    };
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
