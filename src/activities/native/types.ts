/** What the native activities take and return: ids, counts and file ids, never bodies. */
import type OpenAI from 'openai';
import type {
  NativeLimits,
  PollPolicy,
  ProviderBatchPlan,
  ProviderBatchStatus,
  ProviderEndpoint,
  RequestCounts,
} from '../../shared/native';
import type { ModelPrice } from '../../shared/contracts';
import type { BatchStore } from '../../storage/types';
import type { WorkerMetrics } from '../../metrics/workerMetrics';

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
  /** Where polls and provider batches are counted; absent (tests, metrics off): nowhere. */
  metrics?: WorkerMetrics;
}

export interface PlanInput {
  batchId: string;
  chunkCount: number;
  limits: NativeLimits;
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
  /** For the metrics: the batch's tenant, and its model's price (absent: unpriced). */
  tenant?: string;
  price?: ModelPrice;
}

export interface UnfinishedInput {
  batchId: string;
  plan: ProviderBatchPlan;
  code: string;
  message: string;
  /** For the metrics: the batch's tenant. */
  tenant?: string;
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
