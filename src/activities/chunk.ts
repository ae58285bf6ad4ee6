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
import type { BatchStore } from '../storage/types';
import { isSuccess } from '../storage/types';
import { classifyError, FailureType } from './errors';
import type { Sema } from 'async-sema';
import type { LaneRegistry, Ticket } from './lanes';
import { estimateTokens } from '../shared/tokens';
import { callProvider } from './provider';
import { AbortGroup } from './abortGroup';
import { ChunkCache, isCacheHit, type CacheDeps } from './chunkCache';

export interface ChunkInput {
  batchId: string;
  chunk: number;
  /** Each item's own limit: its `maxAttempts`-th transient failure makes it a `retries_exhausted` dead letter. */
  maxAttempts: number;
  /** The batch's `cache` option (true: every line uses the response cache, false: none, absent: lines with temperature 0). */
  cache?: boolean;
  /** The batch's tenant: response cache entries are the tenant's own. */
  tenant?: string;
}

export interface ChunkResult {
  chunk: number;
  succeeded: number;
  failed: number;
  /** Prompt and completion tokens the provider reported for this chunk's successes. */
  tokensIn: number;
  tokensOut: number;
  /** Items answered from the response cache: no provider call, and no tokens (they cost nothing). */
  cacheHits: number;
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

export async function processChunk(deps: ChunkDeps, input: ChunkInput): Promise<ChunkResult> {
  const ctx = Context.current();
  const { batchId, chunk } = input;
  const [lines, recorded, failures] = await Promise.all([
    deps.store.getChunk(batchId, chunk),
    deps.store.getChunkResults(batchId, chunk),
    deps.store.getFailureCounts(batchId, chunk),
  ]);
  const pending = lines.filter((l) => !recorded.has(l.custom_id));
  const cache = new ChunkCache(deps.responseCache, pending, input.cache, input.tenant);
  // Every lane wait listens on this activity's cancellation signal and removes its listener when done:
  // many listeners are expected here, not a leak. Requests get signals of their own (AbortGroup).
  setMaxListeners(0, ctx.cancellationSignal);
  const requests = new AbortGroup(ctx.cancellationSignal);
  let transient = 0;
  let retryAfter = 0;
  let authFailure: string | undefined;

  const writer = await deps.store.openResults(batchId, chunk);
  const record = async (result: BatchOutputLine): Promise<void> => {
    await writer.append(result);
    recorded.set(result.custom_id, result);
  };

  // Heartbeat on a timer, not per result (each call crosses into the native worker): cancellation
  // reaches the activity only through heartbeats, and a chunk whose requests all hang must still hear it.
  const beat = setInterval(() => ctx.heartbeat({ recorded: recorded.size }), 1000);
  try {
    await Promise.all((await cache.hits(batchId, pending)).map(record));
    await runPending();
  } finally {
    clearInterval(beat);
    await Promise.all([writer.close(), storeAnswers()]);
  }

  /** The answers this attempt paid for go to the cache even if it ends early; a cache that cannot take them costs only future calls. */
  async function storeAnswers(): Promise<void> {
    await cache.flush().catch((err: unknown) => {
      ctx.log.warn('response cache: answers not stored', { batchId, chunk, error: String(err) });
    });
  }

  /** One item to a final outcome, or left pending for Temporal's next attempt. */
  async function processOne(line: BatchLine): Promise<void> {
    const failed = failures.get(line.custom_id) ?? 0;
    // Its last failure was counted, then the worker died before the dead letter was written.
    if (failed >= input.maxAttempts)
      return record(errorLine(batchId, line, 'retries_exhausted', `failed transiently ${failed} times`));
    const lane = deps.lanes.get(line.url, line.body.model);
    const tokens = lane.countsTokens ? estimateTokens(line) : 0;
    for (let rateLimited = 0; ; rateLimited++) {
      if (authFailure || ctx.cancellationSignal.aborted) return;
      let ticket: Ticket | undefined;
      try {
        ticket = await lane.acquire(tokens, ctx.cancellationSignal);
        const res = await withSlot(deps.requestSlots, ctx.cancellationSignal, () =>
          requests.run((signal) => callProvider(deps.openai, line, signal)),
        );
        lane.observe(res.headers, ticket);
        cache.remember(line, res.statusCode, res.body);
        await record({
          id: resultId(batchId, line.custom_id),
          custom_id: line.custom_id,
          response: { status_code: res.statusCode, request_id: res.requestId, body: res.body },
          error: null,
        });
        return;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) {
          if (ticket) lane.abandon(ticket);
          return;
        }
        const c = classifyError(err);
        // Every answer tells the lane what the provider has left; a 429 also cuts its rate for a while.
        if (c.kind === 'transient' && c.status === 429)
          lane.rateLimited(c.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS, c.headers, ticket);
        else lane.observe(c.kind === 'transient' ? c.headers : undefined, ticket);
        if (c.kind === 'permanent') return record(errorLine(batchId, line, c.code, c.message));
        if (c.kind === 'auth') {
          authFailure = c.message;
          return;
        }
        if (c.status === 429 && rateLimited < MAX_RATE_LIMITED_WAITS) {
          // The whole lane waits out Retry-After, then this item tries again without spending an attempt.
          continue;
        }
        return failedTransiently(line, c.message, c.retryAfterMs);
      }
    }
  }

  /** Spends one of the item's own attempts: a dead letter at its last, else pending until the next chunk attempt. */
  async function failedTransiently(line: BatchLine, message: string, retryAfterMs = 0): Promise<void> {
    const failed = (failures.get(line.custom_id) ?? 0) + 1;
    failures.set(line.custom_id, failed);
    if (failed >= input.maxAttempts) return record(errorLine(batchId, line, 'retries_exhausted', message));
    transient += 1;
    retryAfter = Math.max(retryAfter, retryAfterMs);
    await writer.countFailure(line.custom_id); // before the attempt ends, so the next one sees it
  }

  async function runPending(): Promise<void> {
    await forEachLimited(
      pending.filter((l) => !recorded.has(l.custom_id)), // the cache hits are recorded already
      deps.itemConcurrency,
      processOne,
    );
  }

  if (authFailure) {
    throw ApplicationFailure.create({
      type: FailureType.ProviderAuth,
      message: `provider rejected our credentials: ${authFailure}`,
      nonRetryable: true,
    });
  }
  // Cancellation: what finished is recorded; surface the cancel to Temporal.
  if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
  if (transient > 0) {
    throw ApplicationFailure.create({
      type: FailureType.TransientProviderErrors,
      message: `${transient} of ${lines.length} items in chunk ${chunk} hit transient provider errors`,
      nextRetryDelay: retryAfter > 0 ? retryAfter : undefined,
    });
  }
  return summarizeChunk(chunk, [...recorded.values()]);
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
}

/**
 * Counts and token usage of one chunk's recorded results (chat/embeddings report prompt/completion, responses
 * input/output). Cache hits carry the usage of the call that first paid for them: counted as hits, not tokens.
 */
export function summarizeChunk(chunk: number, results: BatchOutputLine[]): ChunkResult {
  const summary: ChunkResult = { chunk, succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, cacheHits: 0 };
  for (const r of results) {
    if (!isSuccess(r)) {
      summary.failed += 1;
      continue;
    }
    summary.succeeded += 1;
    if (isCacheHit(r)) {
      summary.cacheHits += 1;
      continue;
    }
    const usage = (r.response?.body as { usage?: Usage } | null)?.usage;
    summary.tokensIn += usage?.prompt_tokens ?? usage?.input_tokens ?? 0;
    summary.tokensOut += usage?.completion_tokens ?? usage?.output_tokens ?? 0;
  }
  return summary;
}
