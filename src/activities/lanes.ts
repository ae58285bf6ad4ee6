/**
 * Rate-limit lanes inside one worker process: one per (endpoint, model), shared
 * by every chunk activity, so 429 storms do not happen.
 *  - A 429 pauses the whole lane for its Retry-After; the item waits and tries again.
 *  - x-ratelimit-remaining-* at 0 pauses the lane until x-ratelimit-reset-*.
 *  - Optional local RPM/TPM (sliding 60 s windows) pace requests before they are sent.
 */
import type { RateLimits } from '../shared/contracts';

export type LaneLimits = RateLimits;

const WINDOW_MS = 60_000;

/** Parses OpenAI's reset durations: "1s", "120ms", "6m0s", "1h2m3.5s". */
export function parseResetDuration(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = false;
  for (const [, value, unit] of text.matchAll(re)) {
    matched = true;
    total += Number(value) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return matched ? total : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class Lane {
  private pausedUntil = 0;
  /** Requests booked in the last 60 s, oldest first from `head` (an index, so trimming is O(1)). */
  private sent: { at: number; tokens: number }[] = [];
  private head = 0;
  private windowTokens = 0;

  constructor(
    readonly key: string,
    private readonly limits: LaneLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  private get limited(): boolean {
    return this.limits.rpm > 0 || this.limits.tpm > 0;
  }

  /** Whether acquire() uses the token count: only a local TPM limit does, so callers may skip tokenizing. */
  get countsTokens(): boolean {
    return this.limits.tpm > 0;
  }

  private get booked(): number {
    return this.sent.length - this.head;
  }

  /** Waits until the lane may send a request of `tokens`, then books it (only a limited lane keeps a window). */
  async acquire(tokens: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.waitMs(tokens);
      if (wait <= 0) break;
      await sleep(wait, signal);
    }
    if (!this.limited) return;
    this.sent.push({ at: this.now(), tokens });
    this.windowTokens += tokens;
  }

  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Follows the provider's view of the budget: nothing left means wait for the reset. */
  observe(headers: Headers | undefined): void {
    if (!headers) return;
    for (const kind of ['requests', 'tokens'] as const) {
      const remaining = headers.get(`x-ratelimit-remaining-${kind}`);
      if (remaining !== null && Number(remaining) <= 0) {
        const reset = parseResetDuration(headers.get(`x-ratelimit-reset-${kind}`));
        if (reset !== undefined) this.pauseFor(reset);
      }
    }
  }

  private trim(now: number): void {
    for (let oldest = this.sent[this.head]; oldest && oldest.at <= now - WINDOW_MS; oldest = this.sent[this.head]) {
      this.windowTokens -= oldest.tokens;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.sent.length) {
      this.sent = this.sent.slice(this.head);
      this.head = 0;
    }
  }

  private waitMs(tokens: number): number {
    const now = this.now();
    let wait = this.pausedUntil - now;
    if (!this.limited) return wait;
    this.trim(now);
    const oldest = this.sent[this.head];
    const untilOldestLeaves = oldest ? oldest.at + WINDOW_MS - now : 0;
    if (this.limits.rpm > 0 && this.booked >= this.limits.rpm) wait = Math.max(wait, untilOldestLeaves);
    // A request bigger than the whole TPM budget is let through alone rather than waiting forever.
    if (this.limits.tpm > 0 && this.booked > 0 && this.windowTokens + tokens > this.limits.tpm) wait = Math.max(wait, untilOldestLeaves);
    return wait;
  }
}

/** One lane per (endpoint, model) for the life of the worker process. */
export class LaneRegistry {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly limits: LaneLimits = { rpm: 0, tpm: 0 }) {}

  get(endpoint: string, model: unknown): Lane {
    const key = `${endpoint} ${typeof model === 'string' ? model : ''}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = new Lane(key, this.limits)));
    return lane;
  }
}
