/**
 * webhookWorkflow: delivers one batch event (id from webhookWorkflowId). The retrying is Temporal's
 * activity retry policy, so waiting between attempts writes no history and holds no worker slot.
 * It never fails: when delivery gives up it says so in its result, because the batch is done anyway.
 */
import { defaultFailureConverter } from '@temporalio/common';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  isCancellation,
  proxyActivities,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { WebhookActivities, WebhookAttemptDetails } from '../activities/webhook';
import { FailureType } from '../shared/failures';
import {
  WEBHOOK_RETRY_INITIAL_MS,
  WEBHOOK_RETRY_MAX_INTERVAL_MS,
  type WebhookDeliveryInput,
  type WebhookDeliveryResult,
} from '../shared/webhooks';
import { failureReason } from './failures';

const HOUR_MS = 3_600_000;

/**
 * A failure's cause. When retries run out against scheduleToCloseTimeout the server reports a
 * TimeoutFailure whose cause is the last attempt's failure, but the TS SDK (1.24) does not decode
 * a TimeoutFailure's cause; the raw proto is still attached, so decode it here.
 */
function causeOf(e: Error): unknown {
  const cause = (e as { cause?: unknown }).cause;
  if (cause === undefined && e instanceof TimeoutFailure && e.failure?.cause) {
    return defaultFailureConverter.failureToError(e.failure.cause, defaultPayloadConverter);
  }
  return cause;
}

/** The last attempt's ApplicationFailure: its message, and in its details the attempt number and status. */
function lastAttemptFailure(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof Error; e = causeOf(e)) {
    if (e instanceof ApplicationFailure) return e;
  }
  return undefined;
}

export async function webhookWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { deliverWebhook } = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '60 seconds', // one POST; the activity's own timeout (settings.timeoutMs) is shorter
    scheduleToCloseTimeout: (input.retry?.maxHours ?? 24) * HOUR_MS, // the whole retry schedule
    // The activity sets each retryable failure's delay itself (this backoff, jittered); the policy's
    // backoff applies to what it cannot (a startToClose timeout).
    retry: {
      initialInterval: input.retry?.initialMs ?? WEBHOOK_RETRY_INITIAL_MS,
      backoffCoefficient: 2,
      maximumInterval: input.retry?.maxIntervalMs ?? WEBHOOK_RETRY_MAX_INTERVAL_MS,
      nonRetryableErrorTypes: [
        FailureType.WebhookRefused,
        FailureType.WebhookNoSecret,
        FailureType.WebhookInvalid,
        FailureType.WebhookGone,
      ],
    },
  });
  try {
    const { status, attempt } = await deliverWebhook(input);
    return { delivered: true, attempts: attempt, status };
  } catch (err) {
    if (isCancellation(err)) throw err; // cancelled on purpose: end as cancelled, not as "undelivered"
    const last = lastAttemptFailure(err);
    const details = last?.details?.[0] as WebhookAttemptDetails | undefined;
    // Without details (e.g. startToClose hit with nothing decoded) the count is unknown: at least 1.
    return {
      delivered: false,
      attempts: details?.attempt ?? 1,
      status: details?.status,
      error: last?.message ?? failureReason(err),
    };
  }
}
