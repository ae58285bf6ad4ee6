/**
 * Rate-limit lanes inside one worker process: one per (endpoint, model), shared by every chunk
 * activity, so that requests go out at the rate the provider replenishes instead of in bursts.
 *  - The first request of a lane goes alone (a probe): its answer's x-ratelimit-* headers tell the limit
 *    and what remains, so a cold lane does not send a wall of requests into a full window.
 *  - Requests are spaced at the lowest of: a configured limit, the limit the provider states, times a
 *    factor that 429s cut and time restores; and slowed further as the provider's remaining capacity
 *    (estimated between readings, see ProviderBudget) falls below a target.
 *  - A 429 pauses the lane for its Retry-After only: capacity comes back continuously, so the full
 *    reset time (`x-ratelimit-reset-*`, up to a minute) is never waited out.
 */
import type { RateLimits } from '../shared/contracts';
import { ProviderBudget, readLimitHeaders } from './providerBudget';

export type LaneLimits = RateLimits;

/** What a granted request carries back to the lane with its answer. */
export interface Ticket {
  at: number;
  requests: number;
  tokens: number;
  /** This request's own token cost (`tokens` is the running total). */
  tokenCost: number;
}

/** A 429 cuts the lane's rate to this share of what it was; never below MIN_FACTOR. */
const DECREASE = 0.7;
const MIN_FACTOR = 0.1;
/** Share of the full rate restored per second without a 429 (additive increase). */
const RECOVERY_PER_MS = 0.1 / 1000;
/** How far behind the schedule a lane may fall and catch up at once (timers are not exact). */
const CATCH_UP_MS = 50;
/** A waiting lane looks again this often: its spacing shortens as the provider's capacity comes back. */
const RECHECK_MS = 100;
/** A probe that has not answered by then no longer holds the lane back. */
const PROBE_TIMEOUT_MS = 5_000;

interface Waiter {
  tokens: number;
  resolve: (ticket: Ticket) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Lane {
  private pausedUntil = 0;
  /** The last grant's place in the schedule and its token cost: the next is due one spacing later, as spaced now. */
  private last = { at: -Infinity, tokens: 0 };
  private readonly requests = new ProviderBudget();
  private readonly tokenBudget = new ProviderBudget();
  private factor = { at: 0, value: 1 };
  private probe: 'none' | 'sent' | 'done' = 'none';
  private probeAt = 0;
  private readonly queue: Waiter[] = [];
  private timer?: { handle: NodeJS.Timeout; at: number };

  constructor(
    readonly key: string,
    private readonly configured: LaneLimits,
    private readonly now: () => number = Date.now,
    /** Told when the provider states a new limit for this lane. */
    private readonly onLearned?: (limits: RateLimits) => void,
  ) {}

  get pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Whether acquire() uses the token count, so callers may skip tokenizing otherwise. */
  get countsTokens(): boolean {
    return this.configured.tpm > 0 || this.tokenBudget.limit > 0;
  }

  /** The limits the provider stated (0: none stated). */
  get learned(): RateLimits {
    return { rpm: this.requests.limit, tpm: this.tokenBudget.limit };
  }

  /** The share of the lowest known limit the lane allows itself now (1 until a 429 cuts it). */
  rateFactor(now = this.now()): number {
    return Math.min(1, this.factor.value + RECOVERY_PER_MS * (now - this.factor.at));
  }

  /** Waits for this lane's turn to send a request of `tokens`; the ticket goes back with the answer. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Ticket> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.queue.length === 0) {
      const ticket = this.tryGrant(tokens);
      if (ticket) return Promise.resolve(ticket);
    }
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = { tokens, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          reject(signal.reason as Error);
          this.pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** An answer arrived (any status): reads the provider's budget from its headers. */
  observe(headers: Headers | undefined, ticket?: Ticket, refused = false): void {
    const at = ticket?.at ?? this.now();
    const requests = headers && readLimitHeaders(headers, 'requests');
    const tokens = headers && readLimitHeaders(headers, 'tokens');
    const before = { rpm: this.requests.limit, tpm: this.tokenBudget.limit };
    // A refused request cost nothing at the provider: give it back, so the estimates match its count.
    const uncharged = refused && ticket ? { requests: 1, tokens: ticket.tokenCost } : { requests: 0, tokens: 0 };
    this.requests.refund(uncharged.requests);
    this.tokenBudget.refund(uncharged.tokens);
    if (requests)
      this.requests.observe(
        requests.limit,
        requests.remaining,
        at,
        ticket?.requests ?? this.requests.book(0),
        uncharged.requests,
      );
    if (tokens)
      this.tokenBudget.observe(
        tokens.limit,
        tokens.remaining,
        at,
        ticket?.tokens ?? this.tokenBudget.book(0),
        uncharged.tokens,
      );
    if (this.requests.limit !== before.rpm || this.tokenBudget.limit !== before.tpm) this.onLearned?.(this.learned);
    this.probe = 'done';
    this.pump();
  }

  /** A 429: wait its Retry-After, and cut the rate unless an earlier 429 already did since this request left. */
  rateLimited(retryAfterMs: number, headers: Headers | undefined, ticket?: Ticket): void {
    const now = this.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    if (!ticket || ticket.at > this.factor.at)
      this.factor = { at: now, value: Math.max(MIN_FACTOR, this.rateFactor(now) * DECREASE) };
    this.observe(headers, ticket, true);
  }

  /** A granted request was dropped unanswered (cancelled): if it was the probe, the next request probes instead. */
  abandon(ticket: Ticket): void {
    if (this.probe === 'sent' && this.probeAt === ticket.at) this.probe = 'none';
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as Waiter;
      const ticket = this.tryGrant(head.tokens);
      if (!ticket) return this.wake();
      this.queue.shift();
      if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve(ticket);
    }
  }

  /** One timer for the head of the queue; a probe's answer (observe) pumps without one. */
  private wake(): void {
    const wait = Math.max(1, Math.min(RECHECK_MS, this.waitMs(this.queue[0]?.tokens ?? 0)));
    const at = this.now() + wait;
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) clearTimeout(this.timer.handle);
    const handle = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
    this.timer = { handle, at };
  }

  private tryGrant(tokens: number): Ticket | undefined {
    if (this.waitMs(tokens) > 0) return undefined;
    const now = this.now();
    if (this.probe === 'none') {
      this.probe = 'sent';
      this.probeAt = now;
    }
    const ticket = {
      at: now,
      requests: this.requests.book(1),
      tokens: this.tokenBudget.book(tokens),
      tokenCost: tokens,
    };
    this.last = { at: Math.max(this.nextAt(now), now - CATCH_UP_MS), tokens };
    return ticket;
  }

  private waitMs(tokens: number): number {
    const now = this.now();
    if (this.probe === 'sent' && now - this.probeAt < PROBE_TIMEOUT_MS) return this.probeAt + PROBE_TIMEOUT_MS - now;
    return Math.max(
      this.pausedUntil - now,
      this.nextAt(now) - now,
      this.requests.waitFor(1, now),
      this.tokenBudget.waitFor(tokens, now),
    );
  }

  /**
   * When the next request is due: the last one's place plus its spacing, computed now rather than when it
   * left, so that a spacing stretched while the capacity was low shrinks as it comes back.
   */
  private nextAt(now: number): number {
    return this.last.at + this.intervalMs(this.last.tokens, now);
  }

  /** Spacing after a request of `tokens`: at the lowest known rate, slowed as the provider's capacity runs low. */
  private intervalMs(tokens: number, now: number): number {
    const factor = this.rateFactor(now);
    const perMinute = (configured: number, budget: ProviderBudget, cost: number): number => {
      // What the provider leaves this process: its limit, less what its readings show others drawing.
      const limit = Math.min(configured > 0 ? configured : Infinity, budget.limit > 0 ? budget.available : Infinity);
      if (!Number.isFinite(limit)) return 0;
      const share = Math.max(budget.share(now), 0.05);
      return (cost * 60_000) / (limit * factor * share);
    };
    return Math.max(
      perMinute(this.configured.rpm, this.requests, 1),
      perMinute(this.configured.tpm, this.tokenBudget, tokens),
    );
  }
}

/** One lane per (endpoint, model) for the life of the worker process. */
export class LaneRegistry {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly limits: LaneLimits = { rpm: 0, tpm: 0 },
    /** Told when the provider states a new limit for an (endpoint, model). */
    private readonly onLearned?: (endpoint: string, model: string, limits: RateLimits) => void,
  ) {}

  get(endpoint: string, model: unknown): Lane {
    const name = typeof model === 'string' ? model : '';
    const key = `${endpoint} ${name}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      const learned = this.onLearned && ((limits: RateLimits) => this.onLearned?.(endpoint, name, limits));
      lane = new Lane(key, this.limits, Date.now, learned);
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
