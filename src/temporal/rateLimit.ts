/**
 * The limit that holds across every worker: Temporal's server-side rate limit on
 * the task queue's activity tasks (each worker's poll carries it; the server enforces
 * it for the whole queue). A chunk carries at most `maxItems` requests and `maxTokens`
 * estimated tokens, so a limit on chunks per second is a limit on requests and tokens
 * per minute.
 *
 * Why not UpdateTaskQueueConfig, which could change it at runtime: on the 1.32 dev
 * server a queue rate limit set through it was stored (describe returned it) but
 * did not slow dispatch at all (measured: ~250-450 chunk requests/s against 95
 * asked), while the worker-set limit held. See docs/architecture.md.
 */

import type { RateLimits } from '../shared/contracts';

/** Room for the server limiter's burst and for clocks that disagree, so a 60 s window never overshoots. */
export const RATE_LIMIT_HEADROOM = 0.95;

/** Chunks per second that keep full chunks within both limits; undefined when neither is set. */
export function chunksPerSecond(limits: RateLimits, chunk: { maxItems: number; maxTokens: number }): number | undefined {
  const rates = [
    limits.rpm > 0 ? limits.rpm / 60 / chunk.maxItems : Infinity,
    limits.tpm > 0 ? limits.tpm / 60 / chunk.maxTokens : Infinity,
  ];
  const rate = Math.min(...rates);
  return Number.isFinite(rate) ? rate * RATE_LIMIT_HEADROOM : undefined;
}
