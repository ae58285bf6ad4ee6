/**
 * The chunk activity's log lines, through the activity context's logger (so each carries Temporal's workflowId,
 * activityType, attempt...): one line per attempt with its outcome and counts, and one per distinct provider
 * error of the attempt with how many items hit it. Distinct, not each: a provider failing 10% of a busy worker's
 * calls would otherwise write a line per failed call. No line carries a body: a provider's message is logged only
 * when it came as OpenAI's error object; anything else is reduced to its type or status.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIError } from 'openai';
import type { BatchOutputLine } from '../shared/contracts';
import { isSuccess } from '../storage/types';
import type { ChunkOutcome } from '../metrics/workerMetrics';
import type { ErrorClass } from './errors';

const MAX_MESSAGE = 200;
/** Distinct errors kept per attempt; past that they are only counted. */
const MAX_DISTINCT = 20;

interface ErrorEntry {
  kind: ErrorClass['kind'];
  status?: number;
  code?: string;
  message: string;
  count: number;
}

/** What can be said of a failed call without quoting its body. */
export function safeMessage(err: unknown): string {
  if (err instanceof APIError) {
    // OpenAI's {error: {message}}; a body of any other shape (an HTML error page, say) stays out of the logs.
    const message = (err.error as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message.slice(0, MAX_MESSAGE) : `HTTP ${err.status ?? 'error'}`;
  }
  // The SDK's own words ("Connection error.", "Request timed out."), none of them from the answer.
  if (err instanceof APIConnectionError) return err.message.slice(0, MAX_MESSAGE);
  // A SyntaxError's message quotes the malformed answer; its type and code (ECONNRESET...) say enough.
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} ${code}` : err.name;
  }
  return 'unknown error';
}

function failureName(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return err instanceof Error ? err.name : 'unknown';
}

export class ChunkLog {
  private readonly started = Date.now();
  private readonly errors = new Map<string, ErrorEntry>();
  private more = 0;
  private items = 0;
  private recordedAtStart = 0;
  private recorded: ReadonlyMap<string, BatchOutputLine> = new Map();

  constructor(
    private readonly ctx: Context,
    private readonly ids: { batchId: string; chunk: number; tenant?: string },
  ) {}

  /** The chunk's items and its recorded results, which the attempt adds to as it goes. */
  watch(items: number, recorded: ReadonlyMap<string, BatchOutputLine>): void {
    this.items = items;
    this.recorded = recorded;
    this.recordedAtStart = recorded.size;
  }

  /** A failed provider call of one item, as classified. */
  error(err: unknown, c: ErrorClass): void {
    const { status } = c;
    const code = c.kind === 'permanent' ? c.code : undefined;
    const key = `${c.kind} ${status ?? ''} ${code ?? ''}`;
    const entry = this.errors.get(key);
    if (entry) entry.count += 1;
    else if (this.errors.size < MAX_DISTINCT)
      this.errors.set(key, { kind: c.kind, status, code, message: safeMessage(err), count: 1 });
    else this.more += 1;
  }

  /** The attempt's lines: its errors, then its outcome (with the failure that ended it, if any). */
  ended(outcome: ChunkOutcome, thrown?: unknown): void {
    const { ctx, ids } = this;
    const base = { ...ids, attempt: ctx.info.attempt };
    for (const e of this.errors.values()) {
      const fields = { ...base, kind: e.kind, status: e.status, code: e.code, count: e.count, error: e.message };
      if (e.kind === 'auth') ctx.log.error('provider error', fields);
      else ctx.log.warn('provider error', fields);
    }
    if (this.more > 0) ctx.log.warn('provider errors not itemised', { ...base, count: this.more });
    const results = [...this.recorded.values()];
    const succeeded = results.filter(isSuccess).length;
    const fields = {
      ...base,
      outcome,
      items: this.items,
      succeeded,
      failed: results.length - succeeded,
      pending: this.items - results.length,
      recordedNow: results.length - this.recordedAtStart,
      providerErrors: [...this.errors.values()].reduce((n, e) => n + e.count, this.more),
      durationMs: Date.now() - this.started,
      // What ended it by type only (TransientProviderErrors, ProviderAuthError, CancelledFailure): an auth failure's
      // message quotes the provider's answer.
      ...(thrown === undefined ? {} : { reason: failureName(thrown) }),
    };
    if (outcome === 'failed') ctx.log.error('chunk attempt', fields);
    else if (outcome === 'retry') ctx.log.warn('chunk attempt', fields);
    else ctx.log.info('chunk attempt', fields);
  }
}
