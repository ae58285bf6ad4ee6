/**
 * The chunk activity: runs the pending items of one chunk concurrently,
 * records each result as it arrives, and lets Temporal retry what is left.
 * Each item has a retry budget of its own (its transient failures, counted in
 * the store): a chunk attempt cut short by a killed worker spends no item's.
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { BatchLine, BatchOutputLine } from '../shared/contracts';
import { FailureType, ItemErrorCode } from '../shared/failures';
import type { BatchStore, ResultWriter } from '../storage/types';
import { classifyError } from './errors';
import type { Sema } from 'async-sema';
import type { Lane, LaneRegistry, Ticket } from './lanes';
import { estimateTokens } from '../shared/tokens';
import { callProvider } from './provider';
import { AbortGroup } from './abortGroup';
import { ChunkCache, type CacheDeps } from './chunkCache';
import { summarizeChunk, type ChunkResult } from './chunkSummary';

export interface ChunkInput {
  batchId: string;
  chunk: number;
  /** Each item's own limit: its `maxAttempts`-th transient failure makes it a `retries_exhausted` dead letter. */
  maxAttempts: number;
  /**
   * The batch's `cache` option (true: every line uses the response cache, false: none, absent: lines with
   * temperature 0).
   */
  cache?: boolean;
  /** The batch's tenant: response cache entries are the tenant's own. */
  tenant?: string;
}

export interface ChunkDeps {
  openai: OpenAI;
  store: BatchStore;
  lanes: LaneRegistry;
  /** Shared by every chunk in the process; bounds the requests in flight. */
  requestSlots: Sema;
  itemConcurrency: number;
  /** The response cache; absent, every line goes to the provider. */
  responseCache?: CacheDeps;
}

/** 429s an item may wait out inside one attempt before it counts as a transient failure. */
const MAX_RATE_LIMITED_WAITS = 20;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 1000;

const resultId = (batchId: string, customId: string): string => `${batchId}:${customId}`;

function errorLine(batchId: string, line: BatchLine, code: string, message: string): BatchOutputLine {
  return { id: resultId(batchId, line.custom_id), custom_id: line.custom_id, response: null, error: { code, message } };
}

/** The result line of the provider's answer to `line`. */
function answerLine(batchId: string, line: BatchLine, res: Awaited<ReturnType<typeof callProvider>>): BatchOutputLine {
  return {
    id: resultId(batchId, line.custom_id),
    custom_id: line.custom_id,
    response: { status_code: res.statusCode, request_id: res.requestId, body: res.body },
    error: null,
  };
}

/** Runs `work` holding one of the process's request slots; gives up if cancelled while waiting. */
async function withSlot<T>(slots: Sema, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  await slots.acquire();
  try {
    if (signal.aborted) throw signal.reason ?? new Error('cancelled');
    return await work();
  } finally {
    slots.release();
  }
}

/** Runs `work` over items with at most `limit` in flight. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

/** What the store holds for a chunk when its attempt starts, and the writer its results go through. */
interface StoredChunk {
  lines: BatchLine[];
  recorded: Map<string, BatchOutputLine>;
  /** Transient failures so far, per custom_id. */
  failures: Map<string, number>;
  writer: ResultWriter;
}

/** One attempt of the chunk activity: its pending items, and what went wrong in it so far. */
class ChunkAttempt {
  private readonly signal: AbortSignal;
  private readonly pending: BatchLine[];
  private readonly cache: ChunkCache;
  private readonly requests: AbortGroup;
  /** Items that failed transiently in this attempt: pending for the next. */
  private transient = 0;
  /** The longest Retry-After seen: the next attempt waits at least that long. */
  private retryAfter = 0;
  private authFailure: string | undefined;

  constructor(
    private readonly deps: ChunkDeps,
    private readonly input: ChunkInput,
    private readonly ctx: Context,
    private readonly stored: StoredChunk,
  ) {
    this.signal = ctx.cancellationSignal;
    this.pending = stored.lines.filter((l) => !stored.recorded.has(l.custom_id));
    this.cache = new ChunkCache(deps.responseCache, this.pending, input.cache, input.tenant);
    // Every lane wait listens on this activity's cancellation signal and removes its listener when done:
    // many listeners are expected here, not a leak. Requests get signals of their own (AbortGroup).
    setMaxListeners(0, this.signal);
    this.requests = new AbortGroup(this.signal);
  }

  async run(): Promise<void> {
    const { recorded, writer } = this.stored;
    // Heartbeat on a timer, not per result (each call crosses into the native worker): cancellation
    // reaches the activity only through heartbeats, and a chunk whose requests all hang must still hear it.
    const beat = setInterval(() => this.ctx.heartbeat({ recorded: recorded.size }), 1000);
    try {
      const hits = await this.cache.hits(this.input.batchId, this.pending);
      await Promise.all(hits.map((r) => this.record(r)));
      await forEachLimited(
        this.pending.filter((l) => !recorded.has(l.custom_id)), // the cache hits are recorded already
        this.deps.itemConcurrency,
        (line) => this.processOne(line),
      );
    } finally {
      clearInterval(beat);
      await Promise.all([writer.close(), this.storeAnswers()]);
    }
  }

  /** The chunk's counts, or the failure that has Temporal retry the chunk or give up. */
  outcome(): ChunkResult {
    const { chunk } = this.input;
    if (this.authFailure) {
      throw ApplicationFailure.create({
        type: FailureType.ProviderAuthError,
        message: `provider rejected our credentials: ${this.authFailure}`,
        nonRetryable: true,
      });
    }
    // Cancellation: what finished is recorded; surface the cancel to Temporal.
    if (this.signal.aborted) throw this.signal.reason ?? new Error('cancelled');
    if (this.transient > 0) {
      const total = this.stored.lines.length;
      throw ApplicationFailure.create({
        type: FailureType.TransientProviderErrors,
        message: `${this.transient} of ${total} items in chunk ${chunk} hit transient provider errors`,
        nextRetryDelay: this.retryAfter > 0 ? this.retryAfter : undefined,
      });
    }
    return summarizeChunk(chunk, [...this.stored.recorded.values()]);
  }

  private async record(result: BatchOutputLine): Promise<void> {
    await this.stored.writer.append(result);
    this.stored.recorded.set(result.custom_id, result);
  }

  /**
   * The answers this attempt paid for go to the cache even if it ends early; a cache that cannot take them
   * costs only future calls.
   */
  private async storeAnswers(): Promise<void> {
    const { batchId, chunk } = this.input;
    await this.cache.flush().catch((err: unknown) => {
      this.ctx.log.warn('response cache: answers not stored', { batchId, chunk, error: String(err) });
    });
  }

  /** One item to a final outcome, or left pending for Temporal's next attempt. */
  private async processOne(line: BatchLine): Promise<void> {
    const failed = this.stored.failures.get(line.custom_id) ?? 0;
    // Its last failure was counted, then the worker died before the dead letter was written.
    if (failed >= this.input.maxAttempts)
      return this.record(
        errorLine(this.input.batchId, line, ItemErrorCode.RetriesExhausted, `failed transiently ${failed} times`),
      );
    const lane = this.deps.lanes.get(line.url, line.body.model);
    const tokens = lane.countsTokens ? estimateTokens(line) : 0;
    for (let rateLimited = 0; ; rateLimited++) {
      if (this.authFailure || this.signal.aborted) return;
      let ticket: Ticket | undefined;
      try {
        ticket = await lane.acquire(tokens, this.signal);
        const res = await withSlot(this.deps.requestSlots, this.signal, () =>
          this.requests.run((signal) => callProvider(this.deps.openai, line, signal)),
        );
        lane.observe(res.headers, ticket);
        this.cache.remember(line, res.statusCode, res.body);
        return this.record(answerLine(this.input.batchId, line, res));
      } catch (err) {
        if (this.signal.aborted) {
          if (ticket) lane.abandon(ticket);
          return;
        }
        if (!(await this.settleFailure(line, err, lane, ticket, rateLimited))) return;
      }
    }
  }

  /** After a failed call: true to call again (a 429 the lane waits out), false when the item is settled. */
  private async settleFailure(
    line: BatchLine,
    err: unknown,
    lane: Lane,
    ticket: Ticket | undefined,
    rateLimited: number,
  ): Promise<boolean> {
    const c = classifyError(err);
    // Every answer tells the lane what the provider has left; a 429 also cuts its rate for a while.
    if (c.kind === 'transient' && c.status === 429)
      lane.rateLimited(c.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS, c.headers, ticket);
    else lane.observe(c.kind === 'transient' ? c.headers : undefined, ticket);
    if (c.kind === 'permanent') {
      await this.record(errorLine(this.input.batchId, line, c.code, c.message));
      return false;
    }
    if (c.kind === 'auth') {
      this.authFailure = c.message;
      return false;
    }
    // The whole lane waits out Retry-After, then this item tries again without spending an attempt.
    if (c.status === 429 && rateLimited < MAX_RATE_LIMITED_WAITS) return true;
    await this.failedTransiently(line, c.message, c.retryAfterMs);
    return false;
  }

  /** Spends one of the item's own attempts: a dead letter at its last, else pending until the next chunk attempt. */
  private async failedTransiently(line: BatchLine, message: string, retryAfterMs = 0): Promise<void> {
    const failed = (this.stored.failures.get(line.custom_id) ?? 0) + 1;
    this.stored.failures.set(line.custom_id, failed);
    if (failed >= this.input.maxAttempts)
      return this.record(errorLine(this.input.batchId, line, ItemErrorCode.RetriesExhausted, message));
    this.transient += 1;
    this.retryAfter = Math.max(this.retryAfter, retryAfterMs);
    await this.stored.writer.countFailure(line.custom_id); // before the attempt ends, so the next one sees it
  }
}

export async function processChunk(deps: ChunkDeps, input: ChunkInput): Promise<ChunkResult> {
  const ctx = Context.current();
  const { batchId, chunk } = input;
  const [lines, recorded, failures] = await Promise.all([
    deps.store.getChunk(batchId, chunk),
    deps.store.getChunkResults(batchId, chunk),
    deps.store.getFailureCounts(batchId, chunk),
  ]);
  const writer = await deps.store.openResults(batchId, chunk);
  const attempt = new ChunkAttempt(deps, input, ctx, { lines, recorded, failures, writer });
  await attempt.run();
  return attempt.outcome();
}
