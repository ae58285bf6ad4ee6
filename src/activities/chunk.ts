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
import type { ItemMetrics, WorkerMetrics } from '../metrics/workerMetrics';
import type { BatchLine, BatchOutputLine, ModelPrice } from '../shared/contracts';
import { FailureType, ItemErrorCode } from '../shared/failures';
import type { BatchStore, ResultWriter } from '../storage/types';
import { classifyError, providerStatus } from './errors';
import type { Sema } from 'async-sema';
import { forEachLimited, withSlot } from './concurrency';
import { checkedLine, errorLine } from './resultLines';
import { checkedAnswer, type Item, type OutputCheck } from './checkedAnswer';
import {
  DEFAULT_REPAIR_ATTEMPTS,
  requestedSchema,
  type JsonSchema,
  type OutputValidator,
} from '../shared/structuredOutput';
import { runPipelineItem, type PipelineChunk } from './pipelineItem';
import type { Lane, LaneRegistry, Ticket } from './lanes';
import { estimateTokens } from '../shared/tokens';
import { callProvider, type ProviderResponse } from './provider';
import { AbortGroup } from './abortGroup';
import { ChunkCache, type CacheDeps } from './chunkCache';
import { ChunkLog } from './chunkLog';
import { countItem, summarizeChunk, type ChunkResult } from './chunkSummary';

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
  /** The model's price, for the cost metric; absent: unpriced (the batch's own cost is the workflow's). */
  price?: ModelPrice;
  /** Repairs per invalid structured answer; absent: DEFAULT_REPAIR_ATTEMPTS. */
  repairAttempts?: number;
  /** The batch is a pipeline: each item runs the steps stored with the batch. */
  pipeline?: boolean;
}

export interface ChunkDeps {
  openai: OpenAI;
  store: BatchStore;
  lanes: LaneRegistry;
  /** Compiles and caches the JSON Schemas answers are checked against; one per process. */
  validator: OutputValidator;
  /** Shared by every chunk in the process; bounds the requests in flight. */
  requestSlots: Sema;
  itemConcurrency: number;
  /** The response cache; absent, every line goes to the provider. */
  responseCache?: CacheDeps;
  metrics: WorkerMetrics;
}

/** 429s an item may wait out inside one attempt before it counts as a transient failure. */
const MAX_RATE_LIMITED_WAITS = 20;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 1000;

/** What the store holds for a chunk when its attempt starts, and the writer its results go through. */
export interface StoredChunk {
  lines: BatchLine[];
  recorded: Map<string, BatchOutputLine>;
  /** Transient failures so far, per custom_id. */
  failures: Map<string, number>;
  writer: ResultWriter;
  /** A pipeline batch's steps and their answers so far; absent for other batches. */
  steps?: PipelineChunk;
}

/** One attempt of the chunk activity: its pending items, and what went wrong in it so far. */
export class ChunkAttempt {
  private readonly signal: AbortSignal;
  private readonly pending: BatchLine[];
  private readonly cache: ChunkCache;
  private readonly requests: AbortGroup;
  /** Items that failed transiently in this attempt: pending for the next. */
  private transient = 0;
  /** The longest Retry-After seen: the next attempt waits at least that long. */
  private retryAfter = 0;
  private authFailure: string | undefined;
  private readonly repairAttempts: number;

  constructor(
    private readonly deps: ChunkDeps,
    private readonly input: ChunkInput,
    private readonly ctx: Context,
    private readonly stored: StoredChunk,
    private readonly log: ChunkLog,
  ) {
    this.signal = ctx.cancellationSignal;
    this.pending = stored.lines.filter((l) => !stored.recorded.has(l.custom_id));
    // A pipeline's lines are items, not requests: its steps' requests do not use the response cache.
    const cache = stored.steps ? undefined : deps.responseCache;
    this.cache = new ChunkCache(cache, this.pending, input.cache, input.tenant);
    // Every lane wait listens on this activity's cancellation signal and removes its listener when done:
    // many listeners are expected here, not a leak. Requests get signals of their own (AbortGroup).
    setMaxListeners(0, this.signal);
    this.requests = new AbortGroup(this.signal);
    this.repairAttempts = input.repairAttempts ?? DEFAULT_REPAIR_ATTEMPTS;
  }

  async run(): Promise<void> {
    const { recorded, writer } = this.stored;
    // Heartbeat on a timer, not per result (each call crosses into the native worker): cancellation
    // reaches the activity only through heartbeats, and a chunk whose requests all hang must still hear it.
    const beat = setInterval(() => this.ctx.heartbeat({ recorded: recorded.size }), 1000);
    try {
      const hits = await this.cache.hits(this.input.batchId, this.pending);
      if (hits.length > 0) {
        const lineOf = new Map(this.pending.map((l) => [l.custom_id, l]));
        await Promise.all(hits.map((r) => this.record(lineOf.get(r.custom_id) as BatchLine, r)));
      }
      await forEachLimited(
        this.pending.filter((l) => !recorded.has(l.custom_id)), // the cache hits are recorded already
        this.deps.itemConcurrency,
        (line) => this.processOne(line),
      );
    } finally {
      clearInterval(beat);
      await Promise.all([writer.close(), this.stored.steps?.writer.close(), this.storeAnswers()]);
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

  /** Appends an item's result and counts it once stored (a pipeline item's body is the item: its steps have models). */
  private async record(line: BatchLine, result: BatchOutputLine): Promise<void> {
    await this.stored.writer.append(result);
    this.stored.recorded.set(result.custom_id, result);
    countItem(this.itemsOf(line, this.stored.steps ? undefined : line.body.model), result, this.input.price);
  }

  private itemsOf(line: BatchLine, bodyModel = line.body.model): ItemMetrics {
    const { tenant } = this.input;
    const model = typeof bodyModel === 'string' ? bodyModel : undefined;
    return this.deps.metrics.items({ tenant, model, endpoint: line.url, mode: 'realtime' });
  }

  /** One provider request, timed and counted by its answer; one this activity cancelled got none and is not counted. */
  private async call(line: BatchLine): Promise<ProviderResponse> {
    const items = this.itemsOf(line);
    const started = performance.now();
    items.requestStarted();
    let status: number | undefined;
    try {
      const res = await this.requests.run((signal) => callProvider(this.deps.openai, line, signal));
      status = res.statusCode;
      return res;
    } catch (err) {
      status = providerStatus(err);
      throw err;
    } finally {
      if (status === undefined && this.signal.aborted) items.requestCancelled();
      else items.requestEnded(status, (performance.now() - started) / 1000);
    }
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
    const item: Item = { line, fail: (code, message) => errorLine(this.input.batchId, line, code, message) };
    // Its last failure was counted, then the worker died before the dead letter was written.
    if (failed >= this.input.maxAttempts)
      return this.record(line, item.fail(ItemErrorCode.RetriesExhausted, `failed transiently ${failed} times`));
    if (this.stored.steps) return this.runSteps(line);
    const check = this.outputCheck(requestedSchema(line.url, line.body));
    const answer = await checkedAnswer((request) => this.ask(item, request), line, check);
    if (!answer) return;
    // Only answers that passed their check are worth answering the same request with again.
    if (answer.verdict?.valid !== false) this.cache.remember(line, answer.res.statusCode, answer.res.body);
    return this.record(line, checkedLine(this.input.batchId, line, answer));
  }

  private outputCheck(schema: JsonSchema | undefined, repairAttempts = this.repairAttempts): OutputCheck {
    return { validator: this.deps.validator, schema, repairAttempts };
  }

  private runSteps(line: BatchLine): Promise<void> {
    return runPipelineItem(
      {
        batchId: this.input.batchId,
        steps: this.stored.steps!,
        ask: (item, request) => this.ask(item, request),
        record: (l, result) => this.record(l, result),
        outputCheck: (schema, repairAttempts) => this.outputCheck(schema, repairAttempts),
      },
      line,
    );
  }

  /**
   * One request of `item` to the provider through its lane, waiting out 429s: the answer, or undefined when
   * the item was settled otherwise (a permanent error or its last transient one recorded, or left pending) or
   * the attempt is stopping.
   */
  private async ask(item: Item, request: BatchLine): Promise<ProviderResponse | undefined> {
    const lane = this.deps.lanes.get(request.url, request.body.model);
    const tokens = lane.countsTokens ? estimateTokens(request) : 0;
    for (let rateLimited = 0; ; rateLimited++) {
      if (this.authFailure || this.signal.aborted) return undefined;
      let ticket: Ticket | undefined;
      try {
        ticket = await lane.acquire(tokens, this.signal);
        const res = await withSlot(this.deps.requestSlots, this.signal, () => this.call(request));
        lane.observe(res.headers, ticket);
        return res;
      } catch (err) {
        if (this.signal.aborted) {
          if (ticket) lane.abandon(ticket);
          return undefined;
        }
        if (!(await this.settleFailure(item, err, lane, ticket, rateLimited))) return undefined;
      }
    }
  }

  /** After a failed call: true to call again (a 429 the lane waits out), false when the item is settled. */
  private async settleFailure(
    item: Item,
    err: unknown,
    lane: Lane,
    ticket: Ticket | undefined,
    rateLimited: number,
  ): Promise<boolean> {
    const c = classifyError(err);
    this.log.error(err, c);
    // Every answer tells the lane what the provider has left; a 429 also cuts its rate for a while.
    if (c.kind === 'transient' && c.status === 429)
      lane.rateLimited(c.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS, c.headers, ticket);
    else lane.observe(c.kind === 'transient' ? c.headers : undefined, ticket);
    if (c.kind === 'permanent') {
      await this.record(item.line, item.fail(c.code, c.message));
      return false;
    }
    if (c.kind === 'auth') {
      this.authFailure = c.message;
      return false;
    }
    // The whole lane waits out Retry-After, then this item tries again without spending an attempt.
    if (c.status === 429 && rateLimited < MAX_RATE_LIMITED_WAITS) return true;
    await this.failedTransiently(item, c.message, c.retryAfterMs);
    return false;
  }

  /** Spends one of the item's own attempts: a dead letter at its last, else pending until the next chunk attempt. */
  private async failedTransiently({ line, fail }: Item, message: string, retryAfterMs = 0): Promise<void> {
    const failed = (this.stored.failures.get(line.custom_id) ?? 0) + 1;
    this.stored.failures.set(line.custom_id, failed);
    if (failed >= this.input.maxAttempts) return this.record(line, fail(ItemErrorCode.RetriesExhausted, message));
    this.transient += 1;
    this.retryAfter = Math.max(this.retryAfter, retryAfterMs);
    await this.stored.writer.countFailure(line.custom_id); // before the attempt ends, so the next one sees it
  }
}
