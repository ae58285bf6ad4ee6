/**
 * Single requests gathered into batches (`POST /requests`): the gatherer workflow's contracts. One gatherer per
 * tenant and lane, under a fixed workflow id, so every API replica signals the same one. Signals and activity
 * inputs carry request ids only: the bodies wait in the request store (claim check).
 */
import type { ProviderAnswer } from './resultLine';
import type { Quotas } from './tenants';
import { defineQuery, defineSignal } from './temporalDefinitions';

/** A request id: `req_` then 24 hex digits (time-ordered, like batch ids). */
export const REQUEST_ID = /^req_[0-9a-f]{24}$/;

/** The lane key of requests on the default queue (no configured lane matches their endpoint and model). */
export const DEFAULT_GATHER_LANE = 'default';

/** The gatherer of a tenant's requests on one lane. Tenant ids and lane names are plain words (config). */
export const gatherWorkflowId = (tenant: string, lane: string): string => `gather-${tenant}-${lane}`;

export interface GatherWorkflowInput {
  tenant: string;
  /**
   * The tenant's quotas as the API knows them: its batches are created under them, whatever tenants the worker is
   * configured with (none in local mode, say). Limits only, no key.
   */
  quotas: Quotas;
  /** The lane's name, or DEFAULT_GATHER_LANE. */
  lane: string;
  /** A batch is formed at this many pending requests (LLMBATCH_GATHER_MAX_ITEMS, capped by the tenant's quota). */
  maxItems: number;
  /** ...or once the oldest pending request has waited this long (LLMBATCH_GATHER_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** Where flushes run: a queue without the provider's rate limit (flushes call no provider). */
  activityTaskQueue: string;
  /** The workflow ends after this long with nothing pending; the next request starts it again. */
  idleMs: number;
  /** Carried across continue-as-new: requests not yet in a batch, how many batches were formed, signals received. */
  carry?: { pending: PendingRequest[]; flushes: number; received?: Record<string, number> };
}

export interface PendingRequest {
  id: string;
  /** When the gatherer received it (workflow time, ms): max wait counts from the oldest. */
  atMs: number;
}

/**
 * Sent by the API once the requests' bodies are stored: the ids of one API process's requests since its last, and
 * when the oldest of them arrived (max wait counts from then). With no ids, a tick: the API's nudge at max wait
 * (see api/gatherSignals.ts).
 */
export const gatherSignal = defineSignal<[GatherSignal]>('gather');

export interface GatherSignal {
  ids: string[];
  /** When the oldest of `ids` arrived at the API (ms): its wait began then, not when the signal went out. */
  arrivedAtMs: number;
  /** Which API process sent it (a random id per process), and its number among that process's signals. */
  from?: SignalSource;
}

export interface SignalSource {
  sender: string;
  seq: number;
}

/** What the API's backpressure reads (pendingQuery). */
export interface PendingCount {
  /** Requests received whose batch has not started yet. */
  pending: number;
  /**
   * Per API process, the number of the last of its signals received: its requests signalled up to there are in
   * `pending` (or past it), and the ones after are not, whatever the lag between a signal and its workflow task.
   */
  received: Record<string, number>;
}

export const pendingQuery = defineQuery<PendingCount>('pending');

/** The flush activity's input: the batch id is chosen by the workflow, so a retried activity makes no second one. */
export interface FlushInput {
  batchId: string;
  tenant: string;
  quotas: Quotas;
  lane: string;
  requestIds: string[];
}

/** What `POST /requests` and `GET /requests/:id` answer. */
export interface RequestView {
  id: string;
  custom_id: string | null;
  /** pending: not in a batch yet; running: in `batch_id`, not answered; completed/failed: `response`/`error` set. */
  status: 'pending' | 'running' | 'completed' | 'failed';
  batch_id: string | null;
  created_at: string;
  response: ProviderAnswer | null;
  error: { code: string; message: string } | null;
}
