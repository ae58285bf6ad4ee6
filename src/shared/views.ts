/**
 * What the project API answers about batches, as the API builds it and the CLI reads it: one definition
 * for both sides, and the one the OpenAPI document is checked against (src/api/openapi/responses.ts).
 */
import type { BatchOutputLine, BatchProgress } from './contracts';
import type { BatchStatus } from './statuses';

/** One provider batch of a running native batch, as its progress shows it. */
export interface ProviderBatchView {
  index: number;
  round: number;
  state: string;
  workflowId: string | null;
  providerBatchId: string | null;
  status: string | null;
  requestCounts: { total: number; completed: number; failed: number } | null;
}

/** A batch's progress as the API reads it: the workflow's (or the stored outcome's), plus a native batch's parts. */
export type ProgressView = BatchProgress & { providerBatches?: ProviderBatchView[] };

/** A batch as `GET /batches/{batch_id}` and `GET /batches` show it. */
export type BatchView = ProgressView & {
  id: string;
  createdAt: string;
  /** The lines' model, `mixed` when they name several; null for batches created before it was kept. */
  model: string | null;
  /** The API that created it: `v1` batches have OpenAI's output and error files (`GET /v1/batches/{id}`). */
  api: 'project' | 'v1';
  retryOf: string | null;
  retriedBy: string[];
  /** The schedule whose run created it (POST /schedules), or null. */
  scheduleId: string | null;
};

/** `GET /batches`: a page, newest first. */
export interface BatchListView {
  data: BatchView[];
  next_cursor: string | null;
}

/**
 * `POST /batches`: 201 with status `running` (`scheduled` with a notBefore ahead); for a repeated
 * Idempotency-Key, 200 with the first request's batch as it is now.
 */
export interface CreatedBatchView {
  id: string;
  total: number;
  mode: BatchProgress['mode'];
  modeReason: string | null;
  status: BatchStatus;
}

/** `POST /batches/{batch_id}/retry` → 201: the new batch, linked to the one whose dead letters it retries. */
export type RetriedBatchView = Omit<CreatedBatchView, 'status'> & { status: 'running' | 'scheduled'; retryOf: string };

/**
 * `POST /batches?wait=…` → 200 for a JSON request: the batch ended within the wait. Its progress as
 * `GET /batches/{batch_id}` shows it, and every result line, as `GET /batches/{batch_id}/results` gives them.
 */
export type WaitedBatchView = BatchView & { results: BatchOutputLine[] };

/**
 * Why `POST /batches?wait=…` answered 202, without results: the wait ran out (`timeout`), the batch runs
 * native (`native`: a provider batch takes minutes to hours, so it is not waited for), or it has more items than
 * are answered inline (`too_large`).
 */
export type WaitOutcome = 'timeout' | 'native' | 'scheduled' | 'too_large';

/** `POST /batches?wait=…` → 202: the batch goes on; poll `Location` (`/batches/{batch_id}`). */
export type WaitingBatchView = CreatedBatchView & {
  wait: WaitOutcome;
  /** How long the request waited for the batch to end (0 when it did not wait). */
  waitedMs: number;
  /** The reason, in words. */
  message: string;
};
