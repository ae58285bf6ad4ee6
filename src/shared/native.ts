/**
 * Contracts of native mode: a batch's items go to a provider's Batch API (`/v1/files` + `/v1/batches`)
 * as provider batches, each driven by a child workflow. Schemas, workflow ids, signals, queries and the
 * pure planning and backoff arithmetic live here.
 * No Node built-ins and no I/O: workflow code imports this module.
 */
import type { Batch } from 'openai/resources/batches';
import { z } from 'zod';
import { defineQuery, defineSignal } from './temporalDefinitions';
import {
  ExpiryPolicySchema,
  ModelPriceSchema,
  SUPPORTED_URLS,
  type BatchProgress,
  type ExpiryPolicy,
  type ModelPrice,
} from './contracts';

export { ExpiryPolicySchema, type ExpiryPolicy };

const MIB = 1024 * 1024;

/** What one provider batch may hold. OpenAI: 50,000 lines and 200 MB; Azure OpenAI allows 100,000 lines. */
export const NativeLimitsSchema = z.strictObject({
  maxLines: z.number().int().min(1).max(1_000_000).default(50_000),
  maxBytes: z
    .number()
    .int()
    .min(1)
    .default(200 * MIB),
});
export type NativeLimits = z.output<typeof NativeLimitsSchema>;

/** Known providers' limits; a caller passes its own `limits` for any other. */
export const PROVIDER_NATIVE_LIMITS = {
  openai: { maxLines: 50_000, maxBytes: 200 * MIB },
  azure: { maxLines: 100_000, maxBytes: 200 * MIB },
} as const satisfies Record<string, NativeLimits>;

/**
 * How a provider batch is polled. After poll n (1-based) the next one waits
 * min(initialMs × coefficient^(n-1), maxMs). `reportEvery` bounds history: a poll whose answer is not
 * terminal reaches the workflow only after at least this many polls (and only if something changed), so
 * each report's 6 history events are spread over 3 or more polls (2 per poll at most).
 */
export const PollPolicySchema = z.strictObject({
  initialMs: z.number().int().min(1).default(30_000),
  coefficient: z.number().min(1).max(10).default(2),
  maxMs: z.number().int().min(1).default(600_000),
  reportEvery: z.number().int().min(3).max(1000).default(3),
});
export type PollPolicy = z.output<typeof PollPolicySchema>;

export const NativeBatchInputSchema = z.strictObject({
  batchId: z.string().min(1),
  total: z.number().int().min(0),
  chunkCount: z.number().int().min(0),
  limits: NativeLimitsSchema.default({ maxLines: 50_000, maxBytes: 200 * MIB }),
  poll: PollPolicySchema.default({ initialMs: 30_000, coefficient: 2, maxMs: 600_000, reportEvery: 3 }),
  expiryPolicy: ExpiryPolicySchema.default('resubmit'),
  /** Provider batches per plan, the first included, before leftovers become dead letters (`resubmit` policy). */
  maxRounds: z.number().int().min(1).max(10).default(3),
  /** Provider batches submitted and not yet finished, at once. Pause holds the rest. */
  maxInFlight: z.number().int().min(1).max(1000).default(16),
  /** 1 (first) to 5 (last); applies to provider batches submitted after it is set. */
  priority: z.number().int().min(1).max(5).optional(),
  tenant: z.string().min(1).optional(),
  /** Where the native activities run (nativeTaskQueue); absent: the workflow's own queue. */
  activityTaskQueue: z.string().min(1).optional(),
  /** Where the batch's events are sent (signed with the tenant's secret). */
  webhookUrl: z.string().optional(),
  /** Why native: auto's reason; null when native was asked for. */
  modeReason: z.string().nullable().default(null),
  /**
   * Auto mode's deadline (epoch ms): if provider batches are still running at `deadline - realtimeReserveMs`,
   * they are cancelled, what finished is collected, and the rest runs in realtime mode.
   */
  deadlineMs: z.number().int().optional(),
  realtimeReserveMs: z.number().int().min(0).default(3_600_000),
  /** Start at this time (epoch ms, options.notBefore): nothing is planned or sent before; `scheduled` until then. */
  notBeforeMs: z.number().int().optional(),
  price: ModelPriceSchema.optional(),
  /** The realtime fallback's settings (`realtime` policy). */
  realtime: z
    .strictObject({
      chunkSize: z.number().int().min(1).max(1000).default(100),
      maxChunksInFlight: z.number().int().min(1).max(10_000).default(8),
      maxAttempts: z.number().int().min(1).max(20).default(5),
      /** Repairs per answer that asks for a JSON Schema (absent: DEFAULT_REPAIR_ATTEMPTS). */
      repairAttempts: z.number().int().min(0).max(10).optional(),
    })
    .default({ chunkSize: 100, maxChunksInFlight: 8, maxAttempts: 5 }),
});
/** What a caller passes (defaults omitted) and what the workflow runs with. */
export type NativeBatchInput = z.input<typeof NativeBatchInputSchema>;
export type ResolvedNativeBatchInput = z.output<typeof NativeBatchInputSchema>;

export type ProviderEndpoint = (typeof SUPPORTED_URLS)[number];

/**
 * One provider batch of the plan: the lines of `endpoint` in chunks firstChunk..lastChunk (inclusive).
 * A provider batch has one endpoint, so a range of chunks with mixed endpoints gets one plan per endpoint.
 */
export interface ProviderBatchPlan {
  index: number;
  endpoint: ProviderEndpoint;
  firstChunk: number;
  lastChunk: number;
  lines: number;
  bytes: number;
}

/** Lines and JSONL bytes of one endpoint in one chunk: what planning needs to know of the store. */
export interface ChunkEndpointStat {
  chunk: number;
  endpoint: ProviderEndpoint;
  lines: number;
  bytes: number;
}

export class ChunkTooLargeError extends Error {
  override name = 'ChunkTooLargeError';
}

/**
 * Cuts the chunks into provider batches: per endpoint (in order of first appearance), contiguous chunk
 * ranges as long as the lines and bytes fit. Chunks are never split, so a chunk larger than the limits
 * on its own cannot be planned (chunks hold at most 1,000 lines; OpenAI's limit is 50,000).
 */
export function planProviderBatches(stats: readonly ChunkEndpointStat[], limits: NativeLimits): ProviderBatchPlan[] {
  const byEndpoint = new Map<ProviderEndpoint, ChunkEndpointStat[]>();
  for (const s of [...stats].sort((a, b) => a.chunk - b.chunk)) {
    if (s.lines === 0) continue;
    const list = byEndpoint.get(s.endpoint) ?? [];
    list.push(s);
    byEndpoint.set(s.endpoint, list);
  }
  const plans: ProviderBatchPlan[] = [];
  for (const [endpoint, list] of byEndpoint) {
    let open: ProviderBatchPlan | undefined;
    for (const s of list) {
      if (s.lines > limits.maxLines || s.bytes > limits.maxBytes) {
        throw new ChunkTooLargeError(
          `chunk ${s.chunk} holds ${s.lines} ${endpoint} lines (${s.bytes} bytes): more than one provider batch ` +
            `may hold (${limits.maxLines} lines, ${limits.maxBytes} bytes)`,
        );
      }
      if (open && open.lines + s.lines <= limits.maxLines && open.bytes + s.bytes <= limits.maxBytes) {
        open.lastChunk = s.chunk;
        open.lines += s.lines;
        open.bytes += s.bytes;
        continue;
      }
      open = { index: plans.length, endpoint, firstChunk: s.chunk, lastChunk: s.chunk, lines: s.lines, bytes: s.bytes };
      plans.push(open);
    }
  }
  return plans;
}

/** The wait after poll `n` (1-based) of a backoff ramp. */
export function pollDelayMs(policy: PollPolicy, n: number): number {
  return Math.min(policy.maxMs, Math.round(policy.initialMs * policy.coefficient ** Math.max(0, n - 1)));
}

/** The provider's batch lifecycle: OpenAI's statuses, as the openai package types them. */
export type ProviderBatchStatus = Batch['status'];
export const isTerminalStatus = (s: string): boolean =>
  s === 'completed' || s === 'failed' || s === 'expired' || s === 'cancelled';

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/** What the store holds for one plan's items after a collection: the final word on that range. */
export interface RangeSummary {
  succeeded: number;
  failed: number;
  tokensIn: number;
  tokensOut: number;
  /** Items of the plan with no final result yet. */
  remaining: number;
  /** Repairs behind the range's results (answers that came through the realtime fallback). */
  repaired?: number;
  /** `invalid_output` dead letters among them: still invalid after their repairs. */
  invalidOutput?: number;
  /**
   * A collection's answers that are not valid against the JSON Schema their request asks for: left without a
   * result (counted in `remaining`) for the realtime fallback, which asks again and repairs them.
   */
  toRepair?: number;
}

export interface ProviderBatchInput {
  batchId: string;
  plan: ProviderBatchPlan;
  /** 0 for the first provider batch of a plan, then 1, 2, … for resubmissions. */
  round: number;
  /** Record retryable lines (batch_expired, 5xx) as final: no round comes after this one. */
  finalRound: boolean;
  limits: NativeLimits;
  poll: PollPolicy;
  /** Where its activities run; absent: the workflow's own queue. */
  activityTaskQueue?: string;
  /** The batch's tenant and its model's price, for the worker's metrics of what it collects. */
  tenant?: string;
  price?: ModelPrice;
}

/**
 * How a provider batch ended. `empty`: every item of the plan already had a result, nothing was sent.
 * `not_submitted`: cancelled before the provider batch was created.
 */
export type ProviderBatchOutcome = ProviderBatchStatus | 'empty' | 'not_submitted';

export interface ProviderBatchProgress {
  workflowId: string;
  index: number;
  round: number;
  providerBatchId: string | null;
  status: ProviderBatchOutcome | 'uploading' | 'creating';
  /** Lines uploaded (the plan's items that had no result yet). */
  lines: number;
  requestCounts: RequestCounts;
  /** Provider polls so far. */
  polls: number;
  cancelRequested: boolean;
}

export interface ProviderBatchResult extends ProviderBatchProgress {
  status: ProviderBatchOutcome;
  /** The plan's range after collection; null when nothing was collected (not submitted). */
  summary: RangeSummary | null;
  /** The provider's first error for a failed batch. */
  error: string | null;
}

/** The metadata key a provider batch is found by: the child workflow id, unique per plan and round. */
export const PROVIDER_BATCH_METADATA_KEY = 'llmbatch_id';

/** `batch-<id>-pb-<k>` for plan k, `batch-<id>-pb-<k>-r<n>` for its n-th resubmission. */
export const providerBatchWorkflowId = (batchId: string, index: number, round: number): string =>
  `batch-${batchId}-pb-${index}${round > 0 ? `-r${round}` : ''}`;
/** The store batch that holds plan k's leftovers for the realtime fallback (its workflow is `batch-<that id>`). */
export const realtimeFallbackBatchId = (batchId: string, index: number): string => `${batchId}-pb-${index}-rt`;
export const isRealtimeFallbackBatchId = (batchId: string): boolean => /-pb-\d+-rt$/.test(batchId);

export type ProviderBatchState = 'queued' | 'running' | 'realtime' | 'done';

export interface ProviderBatchEntry {
  plan: ProviderBatchPlan;
  round: number;
  state: ProviderBatchState;
  /** The running child: the provider batch workflow, or the realtime batch workflow in state `realtime`. */
  workflowId: string | null;
  /** The last finished provider batch of this plan. */
  last: ProviderBatchResult | null;
  summary: RangeSummary | null;
}

export interface NativeProgress extends BatchProgress {
  mode: 'native';
  expiryPolicy: ExpiryPolicy;
  providerBatches: ProviderBatchEntry[];
}

export type NativeBatchResult = NativeProgress;

/** The provider batch: cancel it, wait for `cancelled`, collect what finished. */
export const cancelProviderBatchSignal = defineSignal('cancelProviderBatch');
export const providerBatchProgressQuery = defineQuery<ProviderBatchProgress>('providerBatchProgress');
/** The parent's view including every provider batch; live counts come from the children (see mergeLiveProgress). */
export const nativeProgressQuery = defineQuery<NativeProgress>('nativeProgress');

/**
 * Adds what running children report to the parent's counts, which hold only finished provider batches.
 * The parent cannot ask its children (queries do no I/O) and children do not signal every poll (history),
 * so a client asks both and merges: zero history events per progress read.
 * Live counts are the provider's request_counts; the store's summary replaces them once collected.
 */
export function mergeLiveProgress(
  progress: NativeProgress,
  live: ReadonlyMap<string, { succeeded: number; failed: number }>,
): NativeProgress {
  let succeeded = progress.succeeded;
  let failed = progress.failed;
  for (const e of progress.providerBatches) {
    const l = e.workflowId === null || e.state === 'done' || e.state === 'queued' ? undefined : live.get(e.workflowId);
    if (!l) continue;
    succeeded += l.succeeded;
    failed += l.failed;
  }
  return { ...progress, succeeded, failed, pending: Math.max(0, progress.total - succeeded - failed) };
}
