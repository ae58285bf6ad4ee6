/**
 * Batch events to the batch's webhook: each is a webhookWorkflow child, abandoned by its parent, so the
 * batch ends at once while delivery retries for up to a day on its own. Only a summary (counts, cost,
 * reason) goes along; the delivery activity signs it with the tenant's secret, which never enters history.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { log, ParentClosePolicy, startChild } from '@temporalio/workflow';
import type { BatchProgress } from '../shared/contracts';
import { webhookDeliveryId, webhookWorkflowId, type WebhookEvent } from '../shared/webhooks';
import { webhookWorkflow } from './webhook';

export interface EventTarget {
  batchId: string;
  tenant?: string;
  webhookUrl?: string;
}

/** The event a batch's end is: completed, failed, cancelled, or expired (native items the window ran out on). */
export function endEvent(status: BatchProgress['status'], expired = false): WebhookEvent {
  if (status === 'failed') return 'batch.failed';
  if (status === 'cancelled') return 'batch.cancelled';
  return expired ? 'batch.expired' : 'batch.completed';
}

/** The payload's `data`: what a receiver needs to act, never bodies. */
export function eventData(p: BatchProgress, reason?: string): Record<string, unknown> {
  return {
    id: p.batchId,
    status: p.status,
    total: p.total,
    succeeded: p.succeeded,
    failed: p.failed,
    mode: p.mode,
    costUsd: p.costUsd,
    error: p.error ?? null,
    reason: reason ?? null,
  };
}

/**
 * Starts the delivery of one event, once: a repeated event (a second pause) gets its own `seq`, and a
 * start that finds its delivery already started (a replayed or retried task) does nothing.
 */
export async function notify(
  target: EventTarget,
  event: WebhookEvent,
  data: Record<string, unknown>,
  seq?: number,
): Promise<void> {
  const { batchId, tenant, webhookUrl } = target;
  if (!webhookUrl || !tenant) return;
  const suffix = seq === undefined ? '' : `-${seq}`;
  try {
    await startChild(webhookWorkflow, {
      workflowId: `${webhookWorkflowId(batchId, event)}${suffix}`,
      args: [
        {
          deliveryId: `${webhookDeliveryId(batchId, event)}${suffix.replace('-', '_')}`,
          tenant,
          url: webhookUrl,
          event,
          occurredAt: new Date().toISOString(),
          data,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    // A webhook must never fail the batch it reports on.
    log.warn('webhook delivery could not be started', { batchId, event, err });
  }
}
