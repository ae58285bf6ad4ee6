/** Starts a validated batch as its workflow (`batch-<id>`): realtime, or native through the provider's Batch API. */
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import {
  batchWorkflowId,
  nativeTaskQueue,
  type BatchLine,
  type BatchWorkflowInput,
  type CreateBatchRequest,
  type ModelPrice,
} from '../shared/contracts';
import type { NativeBatchInput } from '../shared/native';
import type { BatchManifest } from '../storage/types';
import { laneFor } from './lanes';
import { chooseMode } from './routing';

export interface StartedBatch {
  id: string;
  total: number;
  mode: 'realtime' | 'native';
  modeReason: string | null;
}

/** The price of the batch's model, when every line uses the same one and it is in the price table. */
function priceOf(lines: readonly BatchLine[], prices: Config['prices']): ModelPrice | undefined {
  const model = lines[0]?.body.model;
  if (typeof model !== 'string' || !lines.every((l) => l.body.model === model)) return undefined;
  return prices[model];
}

/** Whose batch it is (the fairness key) and where its events go. */
export interface BatchOwner {
  tenant: string;
  webhookUrl?: string;
}

export async function startBatch(
  client: Client,
  config: Config,
  request: CreateBatchRequest,
  manifest: BatchManifest,
  nowMs: number,
  owner: BatchOwner,
): Promise<StartedBatch> {
  const { batchId } = manifest;
  const mixedModels = new Set(request.requests.map((l) => l.body.model)).size > 1;
  const route = chooseMode(
    request.options?.mode,
    { total: manifest.total, mixedModels },
    request.options?.deadline,
    config.native,
    nowMs,
  );
  const price = priceOf(request.requests, config.prices);
  const common = { workflowId: batchWorkflowId(batchId), taskQueue: config.temporal.taskQueue };
  // The Web UI shows the summary: the mode and, when auto chose it, why.
  const staticSummary = `${route.mode}${route.reason ? ` (${route.reason})` : ''}: ${manifest.total} items`;
  if (route.mode === 'native') {
    const input: NativeBatchInput = {
      batchId,
      total: manifest.total,
      chunkCount: manifest.chunkCount,
      limits: config.native.limits,
      poll: { initialMs: config.native.poll.initialMs, maxMs: config.native.poll.maxMs },
      expiryPolicy: request.options?.expiryPolicy,
      priority: request.priority,
      tenant: owner.tenant,
      webhookUrl: owner.webhookUrl,
      activityTaskQueue: nativeTaskQueue(config.temporal.taskQueue),
      modeReason: route.reason,
      deadlineMs: route.deadlineMs,
      realtimeReserveMs: config.native.realtimeReserveMs,
      price,
      realtime: {
        chunkSize: config.batch.chunkSize,
        maxChunksInFlight: request.options?.maxChunksInFlight ?? config.batch.maxChunksInFlight,
        maxAttempts: request.options?.maxAttempts ?? 5,
      },
    };
    await client.workflow.start('nativeBatchWorkflow', { ...common, args: [input], staticSummary });
  } else {
    const input: BatchWorkflowInput = {
      batchId,
      total: manifest.total,
      chunkCount: manifest.chunkCount,
      chunkSize: manifest.chunkSize,
      maxChunksInFlight: request.options?.maxChunksInFlight ?? config.batch.maxChunksInFlight,
      maxAttempts: request.options?.maxAttempts,
      priority: request.priority,
      tenant: owner.tenant,
      webhookUrl: owner.webhookUrl,
      budgetUsd: request.options?.budgetUsd,
      lane: laneFor(request.requests, config.lanes, request.options?.lane),
      modeReason: route.reason ?? undefined,
      price,
      cache: request.options?.cache,
    };
    await client.workflow.start('batchWorkflow', { ...common, args: [input], staticSummary });
  }
  return { id: batchId, total: manifest.total, mode: route.mode, modeReason: route.reason };
}
