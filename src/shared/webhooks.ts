/**
 * Webhook contracts shared by the API, the batch workflows and the delivery activity: events, the
 * delivery's input and result, its retry defaults, failure types and ids.
 * No Node built-ins here: workflow code imports this file.
 */

export const WEBHOOK_EVENTS = [
  'batch.completed',
  'batch.failed',
  'batch.cancelled',
  'batch.expired',
  'batch.paused',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookDeliveryInput {
  /** Sent as `webhook-id` on every attempt: the receiver's idempotency key. Letters, digits, `_` and `-` only. */
  deliveryId: string;
  tenant: string;
  url: string;
  event: WebhookEvent;
  /** When the event happened (ISO 8601): the payload's `timestamp`, the same on every attempt. */
  occurredAt: string;
  /**
   * A small summary (batch id, status, counts, costUsd, reason): never bodies, never secrets. It enters workflow
   * history.
   */
  data: Record<string, unknown>;
  /** Defaults: WEBHOOK_RETRY_INITIAL_MS, WEBHOOK_RETRY_MAX_INTERVAL_MS, 24 h. */
  retry?: { initialMs?: number; maxIntervalMs?: number; maxHours?: number };
}

/**
 * The retry schedule's defaults, in one place: the workflow's retry policy and the activity's
 * jittered delays (which replace the policy's wait on every retryable failure) must agree.
 */
export const WEBHOOK_RETRY_INITIAL_MS = 5_000;
export const WEBHOOK_RETRY_MAX_INTERVAL_MS = 3_600_000;

export interface WebhookDeliveryResult {
  delivered: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

/** One workflow per batch and event, so a retried start (same id) is deduplicated by Temporal. */
export const webhookWorkflowId = (batchId: string, event: WebhookEvent): string => `batch-${batchId}-webhook-${event}`;

/**
 * A stable `webhook-id` for a batch's event: the same if the event is ever sent again, so receivers
 * deduplicate it. The spec wants no `.` in the id (it is joined with `.` before signing), so the
 * event's dot becomes `_`.
 */
export const webhookDeliveryId = (batchId: string, event: WebhookEvent): string =>
  `msg_${batchId}_${event}`.replace(/[^A-Za-z0-9_-]/g, '_');
