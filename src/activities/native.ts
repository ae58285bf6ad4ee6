/**
 * Native mode activities: plan provider batches over the store's chunks, upload a plan's pending lines
 * as a JSONL file, create the provider batch idempotently, poll it, cancel it, and stream its output and
 * error files into the store. Bodies stay here and in the store; workflows see ids and counts only.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { BatchLine, BatchOutputLine } from '../shared/contracts';
import {
  ChunkTooLargeError,
  isTerminalStatus,
  NativeFailureType,
  planProviderBatches,
  pollDelayMs,
  PROVIDER_BATCH_METADATA_KEY,
  type ChunkEndpointStat,
  type NativeLimits,
  type PollPolicy,
  type ProviderBatchPlan,
  type ProviderBatchStatus,
  type ProviderEndpoint,
  type RangeSummary,
  type RequestCounts,
} from '../shared/native';
import type { BatchStore } from '../storage/types';
import { summarizeChunk } from './chunk';
import { classifyError, FailureType } from './errors';

export interface NativeActivityConfig {
  /**
   * The idempotent create looks for an existing provider batch among those created at most this long
   * before the input file (newest first, so the scan stops there). Covers clock granularity only: the
   * batch is always created after its file.
   */
  lookupSlackSeconds?: number;
}

export interface NativeActivityDeps {
  openai: OpenAI;
  store: BatchStore;
  config?: NativeActivityConfig;
}

export interface UploadInput {
  batchId: string;
  plan: ProviderBatchPlan;
  /** The child workflow id: names the file. */
  workflowId: string;
  limits: NativeLimits;
}
export interface UploadResult {
  /** null when every item of the plan already has a result: nothing to send. */
  fileId: string | null;
  /** The provider's clock (Unix seconds) when the file was created. */
  createdAt: number;
  lines: number;
  bytes: number;
}

export interface CreateInput {
  batchId: string;
  workflowId: string;
  fileId: string;
  endpoint: ProviderEndpoint;
  /** The input file's created_at: no provider batch of ours can be older. */
  notBefore: number;
}
export interface CreateResult {
  providerBatchId: string;
  status: ProviderBatchStatus;
  /** False when a previous attempt had created it (found by metadata). */
  created: boolean;
}

export interface PollInput {
  providerBatchId: string;
  policy: PollPolicy;
  /** Polls already made in the current backoff ramp, before this activity was scheduled. */
  rampPolls: number;
  /** Wait one backoff interval before the first poll (the workflow just had a report). */
  deferFirst: boolean;
  /** What the workflow last saw; a non-terminal poll is reported only when it differs. */
  last: { status: string; completed: number; failed: number } | null;
}
export interface PollReport {
  status: ProviderBatchStatus;
  requestCounts: RequestCounts;
  outputFileId: string | null;
  errorFileId: string | null;
  /** The provider's first error message (a failed batch). */
  error: string | null;
  /** Provider polls this activity made, over all its attempts. */
  polls: number;
}

export interface CollectInput {
  batchId: string;
  plan: ProviderBatchPlan;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Also record retryable lines (batch_expired, 5xx, 429) as final: no later round will redo them. */
  recordRetryable: boolean;
}

export interface UnfinishedInput {
  batchId: string;
  plan: ProviderBatchPlan;
  code: string;
  message: string;
}

export interface FallbackInput {
  batchId: string;
  plan: ProviderBatchPlan;
  fallbackBatchId: string;
  chunkSize: number;
}
export interface FallbackManifest {
  total: number;
  chunkCount: number;
  chunkSize: number;
}

/** Error codes of batch lines that say "not done", not "this request is wrong". */
const RETRYABLE_LINE_CODES = new Set([
  'batch_expired',
  'batch_cancelled',
  'server_error',
  'rate_limit_exceeded',
  'timeout',
  'internal_error',
]);
const RETRYABLE_LINE_STATUS = (s: number): boolean => s === 408 || s === 409 || s === 429 || s >= 500;

/** A line of an output or error file that is a final answer for its custom_id. */
export function isFinalLine(line: BatchOutputLine): boolean {
  if (line.error) return !RETRYABLE_LINE_CODES.has(line.error.code);
  if (!line.response) return false;
  return !RETRYABLE_LINE_STATUS(line.response.status_code);
}

const jsonlLine = (line: BatchLine): Buffer => Buffer.from(`${JSON.stringify(line)}\n`);

/**
 * Turns a provider error into a Temporal failure: auth fails fast, a refused request (4xx) is permanent
 * under `permanentType`, anything else is retried by Temporal, after Retry-After when the provider gave one.
 */
function providerFailure(err: unknown, what: string, permanentType: string): ApplicationFailure {
  const c = classifyError(err);
  if (c.kind === 'auth') {
    return ApplicationFailure.create({
      type: FailureType.ProviderAuth,
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

async function provider<T>(what: string, permanentType: string, call: () => Promise<T>): Promise<T> {
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
async function withHeartbeat<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(details()), 1000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/** Chunks read or written at once: a plan spans up to 500 of them, and one at a time leaves the disk idle. */
const CHUNK_IO_CONCURRENCY = 8;

/** Runs `f` for every chunk of the plan, a few at a time, in no particular order. */
async function forEachChunk(plan: ProviderBatchPlan, f: (chunk: number) => Promise<void>): Promise<void> {
  let next = plan.firstChunk;
  const lane = async (): Promise<void> => {
    while (next <= plan.lastChunk) await f(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CHUNK_IO_CONCURRENCY, plan.lastChunk - plan.firstChunk + 1) }, lane));
}

/**
 * Which of a plan's items have a final result, and their counts and tokens: what a RangeSummary needs,
 * without holding the results themselves (a plan's output can be 200 MB).
 */
class RangeTally {
  private readonly ids = new Set<string>();
  private readonly totals = { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0 };

  has(customId: string): boolean {
    return this.ids.has(customId);
  }

  add(line: BatchOutputLine): void {
    if (this.ids.has(line.custom_id)) return;
    this.ids.add(line.custom_id);
    const s = summarizeChunk(0, [line]);
    this.totals.succeeded += s.succeeded;
    this.totals.failed += s.failed;
    this.totals.tokensIn += s.tokensIn;
    this.totals.tokensOut += s.tokensOut;
  }

  summary(items: number): RangeSummary {
    return { ...this.totals, remaining: items - this.ids.size };
  }
}

/**
 * Results on their way into the store, grouped by chunk. Lines of a provider batch's files come in any
 * order, across up to 500 chunks; an appendResult per line is an open, a write and a close each (the
 * collection's main cost at 50,000 lines). Buffering up to `maxLines` and then writing each chunk's
 * share through one writer costs a few system calls per chunk instead, and keeps memory and open files
 * bounded whatever the order. A worker killed with lines still buffered loses nothing: they are not in
 * the store, so the retried collection finds them missing and records them then.
 */
class ResultSink {
  private buffered = new Map<number, BatchOutputLine[]>();
  private count = 0;
  private lastFlush = Date.now();

  constructor(
    private readonly store: BatchStore,
    private readonly batchId: string,
    private readonly maxLines = 5000,
    /** A slow download still shows its results in the store within about this long. */
    private readonly maxDelayMs = 1000,
  ) {}

  async add(chunk: number, line: BatchOutputLine): Promise<void> {
    const list = this.buffered.get(chunk);
    if (list) list.push(line);
    else this.buffered.set(chunk, [line]);
    if (++this.count >= this.maxLines || Date.now() - this.lastFlush >= this.maxDelayMs) await this.flush();
  }

  async flush(): Promise<void> {
    const groups = [...this.buffered];
    this.buffered = new Map();
    this.count = 0;
    this.lastFlush = Date.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let g = groups[next++]; g; g = groups[next++]) {
        const [chunk, lines] = g;
        const writer = await this.store.openResults(this.batchId, chunk);
        try {
          // Not awaited one by one: the writer merges the appends it is given meanwhile into one write.
          await Promise.all(lines.map((l) => writer.append(l)));
        } finally {
          await writer.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CHUNK_IO_CONCURRENCY, groups.length) }, lane));
  }
}

function reportOf(b: Batch, polls: number): PollReport {
  const counts = b.request_counts ?? { total: 0, completed: 0, failed: 0 };
  return {
    status: b.status,
    requestCounts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    outputFileId: b.output_file_id ?? null,
    errorFileId: b.error_file_id ?? null,
    error: b.errors?.data?.[0]?.message ?? null,
    polls,
  };
}

export function createNativeActivities({ openai, store, config = {} }: NativeActivityDeps) {
  const slack = config.lookupSlackSeconds ?? 300;

  /** custom_id → chunk for the plan's items, and a tally of the results already recorded for them. */
  async function rangeState(batchId: string, plan: ProviderBatchPlan) {
    const chunkOf = new Map<string, number>();
    const recorded = new RangeTally();
    await forEachChunk(plan, async (chunk) => {
      const [lines, results] = await Promise.all([
        store.getChunk(batchId, chunk),
        store.getChunkResults(batchId, chunk),
      ]);
      for (const line of lines) {
        if (line.url !== plan.endpoint) continue;
        chunkOf.set(line.custom_id, chunk);
        const r = results.get(line.custom_id);
        if (r) recorded.add(r);
      }
    });
    return { chunkOf, recorded };
  }

  async function* fileLines(fileId: string): AsyncIterable<BatchOutputLine> {
    const res = await provider(`download file ${fileId}`, 'ProviderFileNotFound', () => openai.files.content(fileId));
    if (!res.body) return;
    const input = Readable.fromWeb(res.body);
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      if (text.trim() === '') continue;
      yield JSON.parse(text) as BatchOutputLine;
    }
  }

  /** Newest first; batches older than `notBefore` cannot be ours, so the scan stops there. */
  async function findProviderBatch(workflowId: string, notBefore: number): Promise<Batch | undefined> {
    for await (const b of openai.batches.list({ limit: 100 })) {
      if (b.metadata?.[PROVIDER_BATCH_METADATA_KEY] === workflowId) return b;
      if (b.created_at < notBefore) return undefined;
    }
    return undefined;
  }

  return {
    /** Reads every chunk once for its lines and bytes per endpoint and cuts them into provider batches. */
    async planProviderBatches({
      batchId,
      chunkCount,
      limits,
    }: {
      batchId: string;
      chunkCount: number;
      limits: NativeLimits;
    }): Promise<ProviderBatchPlan[]> {
      const stats: ChunkEndpointStat[] = [];
      for (let chunk = 0; chunk < chunkCount; chunk++) {
        const per = new Map<ProviderEndpoint, ChunkEndpointStat>();
        for (const line of await store.getChunk(batchId, chunk)) {
          const s = per.get(line.url) ?? { chunk, endpoint: line.url, lines: 0, bytes: 0 };
          s.lines += 1;
          s.bytes += jsonlLine(line).length;
          per.set(line.url, s);
        }
        stats.push(...per.values());
        Context.current().heartbeat(chunk); // a million items take a while to read
      }
      try {
        return planProviderBatches(stats, limits);
      } catch (err) {
        if (err instanceof ChunkTooLargeError)
          throw ApplicationFailure.create({
            type: NativeFailureType.ChunkTooLarge,
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
    },

    /**
     * Uploads the plan's lines that have no result yet. A retry uploads again: an orphaned file is
     * harmless (nothing refers to it), unlike a duplicate provider batch, which the create step prevents.
     */
    async uploadProviderBatchInput({ batchId, plan, workflowId, limits }: UploadInput): Promise<UploadResult> {
      // One buffer per chunk, in the store's order whatever order the reads finish in. Not one per line:
      // the upload streams a Blob part by part, and 50,000 tiny parts keep the event loop in microtasks
      // for seconds, long enough on a busy machine to starve the heartbeat timer (seen: 10 s timeouts).
      const perChunk: Buffer[] = [];
      let lines = 0;
      let bytes = 0;
      return withHeartbeat(
        () => ({ lines, bytes }),
        async () => {
          await forEachChunk(plan, async (chunk) => {
            const [input, recorded] = await Promise.all([
              store.getChunk(batchId, chunk),
              store.getChunkResults(batchId, chunk),
            ]);
            const mine: Buffer[] = [];
            for (const line of input) {
              if (line.url !== plan.endpoint || recorded.has(line.custom_id)) continue;
              mine.push(jsonlLine(line));
            }
            const joined = Buffer.concat(mine);
            perChunk[chunk - plan.firstChunk] = joined;
            lines += mine.length;
            bytes += joined.length;
          });
          if (lines === 0) return { fileId: null, createdAt: 0, lines: 0, bytes: 0 };
          if (lines > limits.maxLines || bytes > limits.maxBytes) {
            // Planning keeps plans within the limits; a store whose chunks changed since is not ours to fix.
            throw ApplicationFailure.create({
              type: NativeFailureType.ChunkTooLarge,
              message: `plan ${plan.index} has ${lines} lines, ${bytes} bytes: over the limits`,
              nonRetryable: true,
            });
          }
          const { cancellationSignal } = Context.current();
          const file = await provider(`upload ${workflowId}`, NativeFailureType.ProviderBatchRejected, async () =>
            openai.files.create(
              {
                file: await toFile(new Blob(perChunk), `${workflowId}.jsonl`, { type: 'application/jsonl' }),
                purpose: 'batch',
              },
              { signal: cancellationSignal },
            ),
          );
          return { fileId: file.id, createdAt: file.created_at, lines, bytes };
        },
      );
    },

    /**
     * Creates the provider batch at most once per workflow id. A previous attempt may have created it and
     * lost the answer (timeout, worker killed), so look it up by metadata first and create only if absent.
     */
    async createProviderBatch({
      batchId,
      workflowId,
      fileId,
      endpoint,
      notBefore,
    }: CreateInput): Promise<CreateResult> {
      return withHeartbeat(
        () => workflowId,
        async () => {
          const existing = await provider(
            `list batches for ${workflowId}`,
            NativeFailureType.ProviderBatchRejected,
            () => findProviderBatch(workflowId, notBefore - slack),
          );
          if (existing) return { providerBatchId: existing.id, status: existing.status, created: false };
          const b = await provider(`create batch ${workflowId}`, NativeFailureType.ProviderBatchRejected, () =>
            openai.batches.create({
              input_file_id: fileId,
              endpoint,
              // The only window the Batch API offers; what it costs and how long it takes is the provider's.
              completion_window: '24h',
              metadata: { [PROVIDER_BATCH_METADATA_KEY]: workflowId, llmbatch_batch: batchId },
            }),
          );
          return { providerBatchId: b.id, status: b.status, created: true };
        },
      );
    },

    /**
     * One poll per attempt. Not finished and nothing worth reporting: fail retryably with the backoff as
     * nextRetryDelay, so the wait is a server-side retry timer. No worker holds anything meanwhile and no
     * history event is written; the workflow hears only of terminal statuses and of changes after at least
     * `policy.reportEvery` polls.
     */
    async pollProviderBatch(input: PollInput): Promise<PollReport> {
      const { attempt } = Context.current().info;
      const polls = attempt - (input.deferFirst ? 1 : 0);
      const pending = (message: string, delayMs: number) =>
        // Benign: an expected outcome, logged at debug level and kept out of the failure metrics.
        ApplicationFailure.create({
          type: NativeFailureType.ProviderBatchPending,
          message,
          nextRetryDelay: delayMs,
          category: ApplicationFailureCategory.BENIGN,
        });
      if (polls === 0) throw pending('waiting before the next poll', pollDelayMs(input.policy, input.rampPolls));

      // Heartbeats only if the GET is slow (a first beat after 1 s): a fast poll costs the server nothing more.
      const b = await withHeartbeat(
        () => input.providerBatchId,
        () =>
          provider(`retrieve ${input.providerBatchId}`, 'ProviderBatchNotFound', () =>
            openai.batches.retrieve(input.providerBatchId),
          ),
      );
      const report = reportOf(b, polls);
      if (isTerminalStatus(b.status)) return report;
      const { last } = input;
      const changed =
        !last ||
        last.status !== b.status ||
        last.completed !== report.requestCounts.completed ||
        last.failed !== report.requestCounts.failed;
      if (changed && polls >= input.policy.reportEvery) return report;
      const c = report.requestCounts;
      throw pending(
        `${input.providerBatchId} is ${b.status}: ${c.completed + c.failed} of ${c.total} done`,
        pollDelayMs(input.policy, input.rampPolls + polls),
      );
    },

    /** Asks the provider to cancel; a batch already past cancelling (409) is left as it is. */
    async cancelProviderBatch({
      providerBatchId,
    }: {
      providerBatchId: string;
    }): Promise<{ status: ProviderBatchStatus }> {
      return withHeartbeat(
        () => providerBatchId,
        async () => {
          try {
            return { status: (await openai.batches.cancel(providerBatchId)).status };
          } catch (err) {
            if (err instanceof OpenAI.APIError && err.status === 409) {
              return {
                status: (
                  await provider(`retrieve ${providerBatchId}`, 'ProviderBatchNotFound', () =>
                    openai.batches.retrieve(providerBatchId),
                  )
                ).status,
              };
            }
            throw providerFailure(err, `cancel ${providerBatchId}`, 'ProviderBatchNotFound');
          }
        },
      );
    },

    /**
     * Streams the output and error files into the store, mapped by custom_id to the chunk that holds it
     * (lines come in any order). Skips what is recorded, so a retried collection appends nothing twice
     * (the store's first-write-wins dedupe is the backstop). Retryable lines stay unrecorded for the next
     * round unless `recordRetryable`.
     */
    async collectProviderBatch(input: CollectInput): Promise<RangeSummary> {
      let read = 0;
      return withHeartbeat(
        () => ({ read }),
        async () => {
          const { chunkOf, recorded } = await rangeState(input.batchId, input.plan);
          const sink = new ResultSink(store, input.batchId);
          for (const fileId of [input.outputFileId, input.errorFileId]) {
            if (fileId === null) continue;
            for await (const line of fileLines(fileId)) {
              read += 1;
              const chunk = chunkOf.get(line.custom_id);
              if (chunk === undefined || recorded.has(line.custom_id)) continue;
              if (!input.recordRetryable && !isFinalLine(line)) continue;
              await sink.add(chunk, line);
              recorded.add(line);
            }
          }
          await sink.flush();
          return recorded.summary(chunkOf.size);
        },
      );
    },

    /** Records every item of the plan still without a result as a dead letter: no round is left for it. */
    async recordUnfinished({ batchId, plan, code, message }: UnfinishedInput): Promise<RangeSummary> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          const { chunkOf, recorded } = await rangeState(batchId, plan);
          const sink = new ResultSink(store, batchId);
          for (const [customId, chunk] of chunkOf) {
            if (recorded.has(customId)) continue;
            const line: BatchOutputLine = {
              id: `${batchId}:${customId}`,
              custom_id: customId,
              response: null,
              error: { code, message },
            };
            await sink.add(chunk, line);
            recorded.add(line);
          }
          await sink.flush();
          return recorded.summary(chunkOf.size);
        },
      );
    },

    /** Copies the plan's items without a result into a store batch of their own for the realtime workflow. */
    async prepareRealtimeFallback({
      batchId,
      plan,
      fallbackBatchId,
      chunkSize,
    }: FallbackInput): Promise<FallbackManifest> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          // The manifest is written last, so one that exists is complete: a retry after success changes nothing.
          const existing = await store.getManifest(fallbackBatchId);
          if (existing)
            return { total: existing.total, chunkCount: existing.chunkCount, chunkSize: existing.chunkSize };
          const leftovers: BatchLine[] = [];
          for (let chunk = plan.firstChunk; chunk <= plan.lastChunk; chunk++) {
            const [lines, recorded] = await Promise.all([
              store.getChunk(batchId, chunk),
              store.getChunkResults(batchId, chunk),
            ]);
            leftovers.push(...lines.filter((l) => l.url === plan.endpoint && !recorded.has(l.custom_id)));
          }
          if (leftovers.length === 0) return { total: 0, chunkCount: 0, chunkSize };
          const m = await store.putInput(fallbackBatchId, leftovers, chunkSize);
          return { total: m.total, chunkCount: m.chunkCount, chunkSize: m.chunkSize };
        },
      );
    },

    /** Copies the realtime fallback's results back into the batch, into the chunks that hold their items. */
    async mergeRealtimeFallback({
      batchId,
      plan,
      fallbackBatchId,
    }: Omit<FallbackInput, 'chunkSize'>): Promise<RangeSummary> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          const { chunkOf, recorded } = await rangeState(batchId, plan);
          const sink = new ResultSink(store, batchId);
          for await (const r of store.streamResults(fallbackBatchId)) {
            const chunk = chunkOf.get(r.custom_id);
            if (chunk === undefined || recorded.has(r.custom_id)) continue;
            await sink.add(chunk, r);
            recorded.add(r);
          }
          await sink.flush();
          return recorded.summary(chunkOf.size);
        },
      );
    },
  };
}

export type NativeActivities = ReturnType<typeof createNativeActivities>;
