/**
 * Contracts shared by the API, the worker and the workflows: task queues,
 * signal/query definitions and the zod schemas of what crosses those edges.
 * No Node built-ins and no I/O here: workflow code imports this module.
 */
import { z } from 'zod';
import type { ChunkCounts, StepCounts } from './counts';
import type { ModelPrice } from './prices';
import type { RetryCarry } from './retry';
import type { BatchStatus, PauseReason } from './statuses';
import { RunWindowSchema, type RunWindow, type RunWindowView } from './runWindow';
import { defineQuery, defineSignal } from './temporalDefinitions';

export const TASK_QUEUE = 'llmbatch';

export const SUPPORTED_URLS = ['/v1/chat/completions', '/v1/embeddings', '/v1/responses'] as const;

/** Requests and tokens per minute; 0 means no limit. */
export interface RateLimits {
  rpm: number;
  tpm: number;
}

/**
 * A rate-limit lane: one (endpoint, model) pair with its own task queue, whose server-side rate
 * limit holds across every worker and can be changed at runtime. Batches whose lines all share a
 * configured lane's endpoint and model run their chunks there; others share the default queue.
 */
export const LaneNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected 1-63 characters: a-z, 0-9, _ and -');

export const LaneSchema = z.strictObject({
  /**
   * Named lanes can share an (endpoint, model), splitting one provider quota (say `bulk` and `interactive`);
   * a batch picks one with its `lane` option. An unnamed lane is the one per (endpoint, model).
   */
  name: LaneNameSchema.optional(),
  endpoint: z.enum(SUPPORTED_URLS).default('/v1/chat/completions'),
  model: z.string().min(1),
  rpm: z.number().int().min(0).default(0),
  tpm: z.number().int().min(0).default(0),
});
export type Lane = z.infer<typeof LaneSchema>;

/** A batch's lane, as the workflow sees it: where its chunk activities are scheduled. */
export interface LaneRef {
  /** Set for named lanes. */
  name?: string;
  endpoint: string;
  model: string;
  taskQueue: string;
}

/** The lane's task queue, derived from the main one so several deployments can share a namespace. */
export const laneTaskQueue = (baseQueue: string, endpoint: string, model: string, name?: string): string =>
  name === undefined ? `${baseQueue}@${endpoint}@${model}` : `${baseQueue}@lane@${name}`;

/**
 * The queue of native mode's activities (upload, create, poll, collect): they call the provider's Files and
 * Batches APIs, not its rate-limited endpoints, so they must not wait behind the default queue's RPM/TPM limit.
 */
export const nativeTaskQueue = (baseQueue: string): string => `${baseQueue}@native`;

/** Limits that bound every input; documented in README.md. */
export const LIMITS = {
  customIdMaxLength: 512,
  maxItemsPerBatch: 1_000_000,
  maxLineBytes: 1_000_000,
  chunkSize: 100,
} as const;

/** One request in OpenAI's batch input line format. */
export const BatchLineSchema = z.object({
  custom_id: z.string().min(1).max(LIMITS.customIdMaxLength),
  method: z.literal('POST'),
  url: z.enum(SUPPORTED_URLS),
  body: z.record(z.string(), z.unknown()),
});
export type BatchLine = z.infer<typeof BatchLineSchema>;

export type { BatchOutputLine, ProviderAnswer, ResultNotes } from './resultLine';
export { costUsd, ModelPriceSchema, type ModelPrice } from './prices';
export type { PauseReason } from './statuses';
export type { RunWindowView } from './runWindow';

/** A webhook URL: http(s), at most 2,048 characters. Private addresses are refused when it is used (src/webhooks). */
export const WebhookUrlSchema = z.url({ protocol: /^https?$/ }).max(2048);

/** Temporal priority keys: 1 is dispatched first, 5 last. */
export const PrioritySchema = z.number().int().min(1).max(5);
export const DEFAULT_PRIORITY = 3;

/**
 * realtime: concurrent calls now. native: the provider's Batch API (about half price, within its window).
 * auto: chosen per batch.
 */
export const BatchModeSchema = z.enum(['realtime', 'native', 'auto']);
export type BatchMode = z.infer<typeof BatchModeSchema>;

/**
 * What happens to the items of an expired or failed provider batch that have no final result:
 * `resubmit` sends them again as a new provider batch, `realtime` runs them through realtime mode.
 */
export const ExpiryPolicySchema = z.enum(['resubmit', 'realtime']);
export type ExpiryPolicy = z.infer<typeof ExpiryPolicySchema>;

export const BatchOptionsSchema = z.strictObject({
  mode: BatchModeSchema.optional(),
  /** When every result is needed by (ISO 8601). Auto mode picks native only if the window fits before it. */
  deadline: z.iso.datetime({ offset: true }).optional(),
  /** Start at this time (ISO 8601, at most NOT_BEFORE_MAX_DAYS ahead), `scheduled` until then; past: at once. */
  notBefore: z.iso.datetime({ offset: true }).optional(),
  /** Run chunks only inside this daily run window (src/shared/runWindow.ts); realtime mode only. */
  window: RunWindowSchema.optional(),
  /** Native mode: what to do with the leftovers of an expired or failed provider batch. */
  expiryPolicy: ExpiryPolicySchema.optional(),
  /** Attempts per chunk before pending items become dead letters. */
  maxAttempts: z.number().int().min(1).max(20).optional(),
  /** Chunk activities in flight at once for this batch. */
  maxChunksInFlight: z.number().int().min(1).max(10_000).optional(),
  /** Where the batch's events go, signed with the tenant's secret; default: the tenant's webhook, if any. */
  webhook: z.strictObject({ url: WebhookUrlSchema }).optional(),
  /**
   * The named rate-limit lane (LLMBATCH_LANES) to run on; every line must use its endpoint and model.
   * Default: chosen from the lines.
   */
  lane: LaneNameSchema.optional(),
  /**
   * Realtime: pause once the estimated cost (USD, at LLMBATCH_PRICES) reaches this, and send `batch.paused`;
   * resume goes on past it. Needs the model's price; native batches are not paused by it.
   */
  budgetUsd: z.number().positive().max(1_000_000).optional(),
  /**
   * The response cache across batches (LLMBATCH_CACHE_TTL_HOURS): true, every line whose request (endpoint,
   * model, body) was answered before is answered from the cache, at no cost, and every answer is stored;
   * false, no line uses it. Absent: only lines with `temperature: 0`. Realtime mode only.
   */
  cache: z.boolean().optional(),
  /**
   * A JSON Schema (draft 2020-12) every line's answer must follow: asked of the provider as the line's
   * `response_format` (chat) or `text.format` (responses) unless the line asks for a schema of its own, and
   * checked. Refused at submit time when it does not compile.
   */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Repair requests per invalid structured answer before it becomes an `invalid_output` dead letter (default 2). */
  repairAttempts: z.number().int().min(0).max(10).optional(),
});

/** How far ahead `options.notBefore` may be. */
export const NOT_BEFORE_MAX_DAYS = 30;
export const CreateBatchRequestSchema = z.object({
  requests: z.array(BatchLineSchema).min(1).max(LIMITS.maxItemsPerBatch),
  model: z.string().min(1).optional(),
  priority: PrioritySchema.optional(),
  options: BatchOptionsSchema.optional(),
});
export type CreateBatchRequest = z.infer<typeof CreateBatchRequestSchema>;

export const SetPriorityRequestSchema = z.object({ priority: PrioritySchema });
export const SetConcurrencyRequestSchema = z.object({ maxChunksInFlight: z.number().int().min(1).max(10_000) });

/** What a batch workflow starts from: ids and counts only (claim check). */
export interface BatchWorkflowInput {
  batchId: string;
  total: number;
  chunkCount: number;
  maxChunksInFlight: number;
  /** 1 (first) to 5 (last); applies to chunks scheduled after it is set. */
  priority?: number;
  /** The tenant: Temporal's fairness key, so tenants share workers evenly. */
  tenant?: string;
  /** Where the batch's events are sent (signed with the tenant's secret); absent: none. */
  webhookUrl?: string;
  /** Pause when the estimated cost reaches this (USD); resume lifts it. */
  budgetUsd?: number;
  /** The rate-limit lane whose task queue runs the chunks; absent: the default queue. */
  lane?: LaneRef;
  /**
   * Where the batch's store work runs (finishBatch, reopenDeadLetters): a queue without the provider's rate limit
   * (nativeTaskQueue), so it spends none of the chunks' tokens; absent: the workflow's own queue.
   */
  activityTaskQueue?: string;
  /**
   * Where the chunks run instead of the lane's or the workflow's queue. A gathered batch's chunk holds a few requests,
   * and a server-side limit counts tasks, not requests (a chunk of 3 spends the token of 100): its chunks run on the
   * unlimited queue, paced request by request by each worker's lanes. Absent: the lane's or the workflow's queue.
   */
  chunkTaskQueue?: string;
  /** Why the batch runs in realtime mode, when auto chose it or a native batch fell back. */
  modeReason?: string;
  /** Per-million-token prices of the batch's model, for the cost in progress; absent: unknown. */
  price?: ModelPrice;
  /** The batch's `cache` option: true, every line uses the response cache; false, none; absent: temperature 0. */
  cache?: boolean;
  /** Attempts per chunk before pending items become `retries_exhausted` dead letters. */
  maxAttempts?: number;
  /** Repairs per invalid structured answer (absent: the default, 2). */
  repairAttempts?: number;
  /** The batch is a pipeline: its items run the steps stored with it (`POST /pipelines`). */
  pipeline?: boolean;
  /** Items per chunk (the last chunk may be smaller). */
  chunkSize: number;
  /** History events after which the run continues as new (default 8,000; tests lower it). */
  historyEventsLimit?: number;
  /** A completed batch with dead letters waits this long (ms) for `retryDeadLetters`; absent or 0: it ends. */
  retryGraceMs?: number;
  /** Start the work at this time (epoch ms); until then the batch is `scheduled`. Absent: at once. */
  notBeforeMs?: number;
  /** Chunks run only inside this daily window (options.window); outside it the batch is paused. */
  window?: RunWindow;
  /** State carried over by continue-as-new; absent on the first run. */
  carry?: BatchCarry;
}

/**
 * Counters and settings a batch carries across continue-as-new: a few numbers, never bodies. Its counts
 * (ChunkCounts) are the sums of its chunks' reports; `cacheHits` is absent in runs carried over before the cache.
 */
export interface BatchCarry extends ChunkCounts {
  nextChunk: number;
  requeued: number[];
  paused: boolean;
  priority: number;
  maxChunksInFlight: number;
  startedAt: string;
  runs: number;
  /** Why the batch is paused, when it paused itself. */
  pauseReason?: PauseReason;
  /** The budget was reached and the batch resumed: it no longer pauses for it. */
  budgetLifted?: boolean;
  /** Pauses for the budget so far (each sends its own `batch.paused`). */
  budgetPauses?: number;
  /** The `retryDeadLetters` signals taken so far, and what the chunks they re-run held (src/shared/retry.ts). */
  retry?: RetryCarry;
}

export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  chunksInFlight: number;
  /** Items in the chunks being processed; an upper bound when chunks were closed early by their token budget. */
  itemsInFlight: number;
  priority: number;
  maxChunksInFlight: number;
  tokensIn: number;
  tokensOut: number;
  /** Items answered from the response cache: no provider call, no tokens, no cost. */
  cacheHits: number;
  /** Structured outputs: repair requests sent for answers that failed their schema. */
  repaired: number;
  /** Structured outputs: items still invalid after their last repair (`invalid_output` dead letters). */
  invalidOutput: number;
  /** Pipelines: per step, in step order, items that got past it and items stopped at it. */
  steps?: StepCounts;
  startedAt: string;
  updatedAt: string;
  /** Items finished per second since the start. */
  ratePerSecond: number;
  /** Estimated completion time at the current rate; null when unknown or paused. */
  eta: string | null;
  /** Workflow runs so far (each continue-as-new starts one). */
  runs: number;
  /** Why the batch failed, when it did. */
  error?: string;
  /** Why a paused batch paused itself; absent when paused by a signal. */
  pauseReason?: PauseReason;
  /** The batch's budget in USD, if it has one. */
  budgetUsd?: number;
  /** When the batch's work starts, if it was given a time (options.notBefore), as ISO 8601. */
  notBefore?: string;
  /** The batch's run window (options.window) and the window open now or the next one, as ISO 8601. */
  window?: RunWindowView;
  /** The rate-limit lane the chunks run on; null: the default queue. */
  lane: LaneRef | null;
  mode: 'realtime' | 'native';
  /** Why this mode: auto's choice, or a fallback; null when the mode was asked for. */
  modeReason: string | null;
  /** Estimated cost of the tokens so far in USD, at the model's price (native: the batch price); null: unknown. */
  costUsd: number | null;
}

export type BatchWorkflowResult = BatchProgress;

export const progressQuery = defineQuery<BatchProgress>('progress');
/** Stop scheduling, cancel in-flight chunks, keep finished results, end as cancelled. */
export const cancelSignal = defineSignal('cancel');
/** Stop new provider calls (in-flight chunks are stopped and re-run on resume). */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setPrioritySignal = defineSignal<[number]>('setPriority');
/** Chunk activities in flight at once for this batch. */
export const setConcurrencySignal = defineSignal<[number]>('setConcurrency');

export const batchWorkflowId = (batchId: string): string => `batch-${batchId}`;
