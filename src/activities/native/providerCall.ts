/** How native activities call the provider: its errors as Temporal failures, and heartbeats while they wait. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../shared/failures';
import { classifyError } from '../errors';

/**
 * Turns a provider error into a Temporal failure: auth fails fast, a refused request (4xx) is permanent
 * under `permanentType`, anything else is retried by Temporal, after Retry-After when the provider gave one.
 */
export function providerFailure(err: unknown, what: string, permanentType: string): ApplicationFailure {
  const c = classifyError(err);
  if (c.kind === 'auth') {
    return ApplicationFailure.create({
      type: FailureType.ProviderAuthError,
      message: `provider rejected our credentials (${what}): ${c.message}`,
      nonRetryable: true,
    });
  }
  if (c.kind === 'permanent')
    return ApplicationFailure.create({
      type: permanentType,
      message: `${what}: ${c.status} ${c.message}`,
      nonRetryable: true,
    });
  return ApplicationFailure.create({
    type: FailureType.TransientProviderErrors,
    message: `${what}: ${c.message}`,
    nextRetryDelay: c.retryAfterMs,
  });
}

/** Runs one provider call; its error leaves as the failure `providerFailure` makes of it. */
export async function withProviderFailure<T>(what: string, permanentType: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw providerFailure(err, what, permanentType);
  }
}

/**
 * Heartbeats on a timer while `work` runs: reading a plan's 50,000 items, an upload or download of
 * 200 MB, or a slow provider can outlast the heartbeat timeout, and a heartbeat is how a dead worker is
 * noticed quickly. Every activity of a provider batch runs under it (the poll only around its GET).
 */
export async function withHeartbeat<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(details()), 1000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
