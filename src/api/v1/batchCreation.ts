/**
 * POST /v1/batches: llmbatch's options from the metadata, the input file checked, then the batch created
 * through BatchCreator like any other; its OpenAI record is written from the batch's plan, after the
 * owner record and before the workflow starts.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Config, Tenant } from '../../config';
import type { CreateBatchRequest } from '../../shared/contracts';
import { tenantOf } from '../auth';
import { newBatchId } from '../ids';
import { idempotencyKeyOf } from '../validation';
import { BatchInput } from './batchInput';
import { CreateBatchSchema, llmbatchKeys, LlmbatchMetadataSchema } from './batchSchemas';
import { invalidRequest, parseOr400 } from './errors';
import { batchObject, OPENAI_RECORD, type OpenAIBatchRecord } from './objects';
import type { V1Service } from './service';

type LlmbatchOptions = z.output<typeof LlmbatchMetadataSchema>;

/** Refusals of the options alone, in /v1's words, before the input file is read. */
function refuseOptions(options: LlmbatchOptions, config: Config, nowMs: number): void {
  if (options.llmbatch_deadline !== undefined && Date.parse(options.llmbatch_deadline) <= nowMs) {
    throw invalidRequest(
      `Invalid 'metadata.llmbatch_deadline': ${options.llmbatch_deadline} has passed.`,
      'metadata.llmbatch_deadline',
      'invalid_value',
    );
  }
  if (options.llmbatch_mode === 'native' && !config.native.enabled) {
    throw invalidRequest(
      "Invalid 'metadata.llmbatch_mode': native needs a provider Batch API, and LLMBATCH_NATIVE is off.",
      'metadata.llmbatch_mode',
      'invalid_value',
    );
  }
}

/** The project API's request for the same batch: the lines come from the file, the options from metadata. */
function createRequest(options: LlmbatchOptions, webhookUrl: string | undefined): CreateBatchRequest {
  return {
    requests: [],
    priority: options.llmbatch_priority,
    options: {
      mode: options.llmbatch_mode,
      deadline: options.llmbatch_deadline,
      webhook: webhookUrl ? { url: webhookUrl } : undefined,
      budgetUsd: options.llmbatch_budget_usd,
      lane: options.llmbatch_lane,
      cache: options.llmbatch_cache,
    },
  };
}

/** A just-created batch as OpenAI's Batch object: in progress, nothing done yet. */
function startedObject(record: OpenAIBatchRecord, total: number) {
  const startedAt = new Date(record.created_at_ms).toISOString();
  const progress = {
    status: 'running' as const,
    total,
    succeeded: 0,
    failed: 0,
    tokensIn: 0,
    tokensOut: 0,
    startedAt,
    updatedAt: startedAt,
  };
  return batchObject(record, { progress, final: false });
}

export async function createV1Batch(service: V1Service, req: Request, res: Response): Promise<void> {
  const { store, files, config, creator } = service.deps;
  const body = parseOr400(CreateBatchSchema, req.body);
  const options = parseOr400(LlmbatchMetadataSchema, llmbatchKeys(body.metadata), 'metadata');
  const now = Date.now();
  refuseOptions(options, config, now);
  const tenant: Tenant = tenantOf(res);
  const input = new BatchInput(files, config);
  const file = await input.find(body.input_file_id, tenant.id);
  const summary = await input.summarize(file.id, body.endpoint);
  const webhookUrl = options.llmbatch_webhook_url ?? tenant.webhook?.url;

  const batchId = newBatchId();
  const written: { record?: OpenAIBatchRecord } = {};
  let created;
  try {
    created = await creator.create({
      batchId,
      tenant,
      api: 'v1',
      request: createRequest(options, webhookUrl),
      lines: input.lines(file.id),
      position: 'line',
      webhookUrl,
      nowMs: now,
      // The record before the workflow: a crash in between leaves a batch that reads as failed, never a
      // workflow that no /v1 route can see.
      beforeStart: async (_manifest, plan) => {
        const record: OpenAIBatchRecord = {
          id: batchId,
          input_file_id: file.id,
          endpoint: body.endpoint,
          completion_window: body.completion_window,
          metadata: body.metadata ?? null,
          created_at_ms: now,
          model: summary.model,
          mode: plan.mode,
          mode_reason: plan.modeReason,
          cancelling_at_ms: null,
          start_error: null,
          result_files: null,
        };
        await store.putRecord(batchId, OPENAI_RECORD, record);
        written.record = record;
      },
      idempotencyKey: idempotencyKeyOf(req.get('idempotency-key')),
    });
  } catch (err) {
    const { record } = written;
    const start_error = `the batch could not be started: ${(err as Error).message}`;
    if (record) await store.putRecord(batchId, OPENAI_RECORD, { ...record, start_error }).catch(() => undefined);
    throw err;
  }
  if (created.replayed) {
    // The batch an earlier request with this Idempotency-Key created, as it is now.
    const earlier = await service.requireRecord(tenant.id, created.id);
    res.set('Idempotent-Replayed', 'true').json(await service.batch(earlier));
    return;
  }
  if (!written.record) throw new Error(`batch ${batchId} started without its OpenAI record`);
  res.json(startedObject(written.record, created.total));
}
