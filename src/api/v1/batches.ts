/**
 * /v1/batches: OpenAI's Batch API on llmbatch's engine.
 *   POST /v1/batches             {input_file_id, endpoint, completion_window: "24h", metadata?}
 *   GET  /v1/batches             newest first, paged with after and limit (1..100, default 20)
 *   GET  /v1/batches/:id
 *   POST /v1/batches/:id/cancel
 * llmbatch's own options ride in metadata (and are echoed with the rest of it):
 *   llmbatch_mode      realtime | native | auto
 *   llmbatch_priority  "1" (first) .. "5" (last)
 *   llmbatch_deadline  ISO 8601, with an offset
 *   llmbatch_webhook_url  where the batch's events go (default: the tenant's webhook)
 *   llmbatch_budget_usd   realtime: pause (and send batch.paused) when the estimated cost reaches it
 *   llmbatch_lane         a named rate-limit lane of LLMBATCH_LANES to run on
 *   llmbatch_cache        "true" | "false": the response cache (absent: lines with temperature 0 use it)
 * Every route sees the caller's tenant's batches only.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import {
  batchWorkflowId,
  BatchModeSchema,
  BatchOptionsSchema,
  cancelSignal,
  LaneNameSchema,
  SUPPORTED_URLS,
  WebhookUrlSchema,
  type BatchLine,
  type CreateBatchRequest,
} from '../../shared/contracts';
import { tenantOf } from '../auth';
import { OWNER_RECORD, ownedBy } from '../owner';
import { chooseMode } from '../routing';
import { BooleanParamSchema } from '../schemas';
import { idempotencyKeyOf } from '../validation';
import { invalidRequest, notFound, parseOr400, V1Error } from './errors';
import { BATCH_ID, newBatchId, UPLOADED_FILE_ID } from '../ids';
import { V1_LIMITS } from './limits';
import { checkLine, splitLines } from '../lines';
import { batchObject, OPENAI_RECORD, type OpenAIBatchRecord } from './objects';
import type { V1Service } from './service';

const MetadataSchema = z
  .record(z.string().min(1).max(V1_LIMITS.metadataKeyMaxLength), z.string().max(V1_LIMITS.metadataValueMaxLength))
  .refine((m) => Object.keys(m).length <= V1_LIMITS.metadataMaxKeys, `at most ${V1_LIMITS.metadataMaxKeys} keys`);

export const CreateBatchSchema = z.strictObject({
  input_file_id: z.string().min(1).max(200),
  endpoint: z.enum(SUPPORTED_URLS),
  completion_window: z.literal('24h'),
  metadata: MetadataSchema.nullish(),
  /** Accepted and ignored: output files are kept as long as their batch. */
  output_expires_after: z
    .strictObject({
      anchor: z.literal('created_at'),
      seconds: z
        .number()
        .int()
        .min(3600)
        .max(30 * 24 * 3600),
    })
    .optional(),
});

/** The metadata keys that carry llmbatch's options; any other `llmbatch_` key is refused (a typo would pass silently). */
export const LlmbatchMetadataSchema = z.strictObject({
  llmbatch_mode: BatchModeSchema.optional(),
  llmbatch_priority: z
    .string()
    .regex(/^[1-5]$/, 'expected "1" (first) to "5" (last)')
    .transform(Number)
    .optional(),
  llmbatch_deadline: z.iso.datetime({ offset: true }).optional(),
  llmbatch_webhook_url: WebhookUrlSchema.optional(),
  llmbatch_lane: LaneNameSchema.optional(),
  llmbatch_cache: BooleanParamSchema.optional(),
  llmbatch_budget_usd: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected a number of USD, e.g. "25" or "2.50"')
    .transform(Number)
    .pipe(BatchOptionsSchema.shape.budgetUsd.unwrap())
    .optional(),
});

export const ListV1BatchesQuerySchema = z.strictObject({
  after: z.string().regex(BATCH_ID, 'expected a batch id').optional(),
  limit: z.coerce.number().int().min(1).max(V1_LIMITS.batchListMax).default(V1_LIMITS.batchListDefault),
});

const llmbatchKeys = (metadata: Record<string, string> | null | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => k.startsWith('llmbatch_')));

interface InputSummary {
  total: number;
  /** The first line, and the first with another model if any: all startBatch needs to pick a lane and a price. */
  representatives: [BatchLine, ...BatchLine[]];
  model: string | null;
}

export function batchesRouter(service: V1Service): Router {
  const { client, store, files, config, creator } = service.deps;
  const router = Router();

  /** The input file's requests, checked again (the file is ours, but it is read from disk), with the default model. */
  async function* requests(fileId: string): AsyncIterable<{ line: number; request: BatchLine }> {
    const content = await files.open(fileId);
    if (!content) throw notFound(`No such File object: ${fileId}`, 'input_file_id');
    for await (const { line, text } of splitLines(content)) {
      const checked = checkLine(text);
      if (!checked.ok)
        throw invalidRequest(`Invalid input file: Line ${line}: ${checked.reason}`, 'input_file_id', checked.code);
      const request = checked.line;
      // The default model, so the summary compares what will run (createBatch refuses a line with neither).
      if ((typeof request.body.model !== 'string' || request.body.model === '') && config.batch.defaultModel)
        request.body.model = config.batch.defaultModel;
      yield { line, request };
    }
  }

  /** First pass: every line's url is the batch's endpoint, and what startBatch needs to know of the models. */
  async function summarize(fileId: string, endpoint: string): Promise<InputSummary> {
    let total = 0;
    let first: BatchLine | undefined;
    let other: BatchLine | undefined;
    for await (const { line, request } of requests(fileId)) {
      if (request.url !== endpoint) {
        throw invalidRequest(
          `Invalid input file: Line ${line}: url ${JSON.stringify(request.url)} does not match the batch endpoint ${JSON.stringify(endpoint)}`,
          'input_file_id',
          'mismatched_url',
        );
      }
      total += 1;
      if (!first) first = request;
      else if (!other && request.body.model !== first.body.model) other = request;
    }
    if (!first) throw invalidRequest('Invalid input file: it contains no requests.', 'input_file_id', 'empty_file');
    return {
      total,
      representatives: other ? [first, other] : [first],
      model: other ? null : (first.body.model as string),
    };
  }

  router.post('/batches', async (req, res) => {
    const body = parseOr400(CreateBatchSchema, req.body);
    const options = parseOr400(LlmbatchMetadataSchema, llmbatchKeys(body.metadata), 'metadata');
    const now = Date.now();
    if (options.llmbatch_deadline !== undefined && Date.parse(options.llmbatch_deadline) <= now) {
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
    if (!UPLOADED_FILE_ID.test(body.input_file_id))
      throw notFound(`No such File object: ${body.input_file_id}`, 'input_file_id');
    const input = await files.get(body.input_file_id);
    if (!input || input.tenant !== tenantOf(res).id)
      throw notFound(`No such File object: ${body.input_file_id}`, 'input_file_id');
    if (input.purpose !== 'batch')
      throw invalidRequest(
        `File ${input.id} has purpose '${input.purpose}', not 'batch'.`,
        'input_file_id',
        'invalid_file_purpose',
      );

    const summary = await summarize(input.id, body.endpoint);
    const tenant = tenantOf(res);
    const webhookUrl = options.llmbatch_webhook_url ?? tenant.webhook?.url;
    const request: CreateBatchRequest = {
      requests: summary.representatives,
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
    // The same choice startBatch makes (same inputs), made first so that a refusal creates nothing.
    const route = chooseMode(
      request.options?.mode,
      { total: summary.total, mixedModels: summary.model === null },
      request.options?.deadline,
      config.native,
      now,
    );

    const batchId = newBatchId();
    const record: OpenAIBatchRecord = {
      id: batchId,
      input_file_id: input.id,
      endpoint: body.endpoint,
      completion_window: body.completion_window,
      metadata: body.metadata ?? null,
      created_at_ms: now,
      model: summary.model,
      mode: route.mode,
      mode_reason: route.reason,
      cancelling_at_ms: null,
      start_error: null,
      result_files: null,
    };
    let recorded = false;
    let total = summary.total;
    try {
      const created = await creator.create({
        batchId,
        tenant,
        api: 'v1',
        request,
        lines: mapAsync(requests(input.id), (r) => ({ at: r.line, request: r.request })),
        position: 'line',
        webhookUrl,
        nowMs: now,
        // The record before the workflow: a crash in between leaves a batch that reads as failed, never a
        // workflow that no /v1 route can see.
        beforeStart: async () => {
          await store.putRecord(batchId, OPENAI_RECORD, record);
          recorded = true;
        },
        idempotencyKey: idempotencyKeyOf(req.get('idempotency-key')),
      });
      if (created.replayed) {
        // The batch an earlier request with this Idempotency-Key created, as it is now.
        res
          .set('Idempotent-Replayed', 'true')
          .json(await service.batch(await service.requireRecord(tenant.id, created.id)));
        return;
      }
      total = created.total;
    } catch (err) {
      if (recorded)
        await store
          .putRecord(batchId, OPENAI_RECORD, {
            ...record,
            start_error: `the batch could not be started: ${(err as Error).message}`,
          })
          .catch(() => undefined);
      throw err;
    }
    const startedAt = new Date(now).toISOString();
    res.json(
      batchObject(record, {
        progress: {
          status: 'running',
          total,
          succeeded: 0,
          failed: 0,
          tokensIn: 0,
          tokensOut: 0,
          startedAt,
          updatedAt: startedAt,
        },
        final: false,
      }),
    );
  });

  router.get('/batches', async (req, res) => {
    const { after, limit } = parseOr400(ListV1BatchesQuerySchema, req.query);
    const tenant = tenantOf(res).id;
    const rows = await store.listRecords(OWNER_RECORD, {
      after,
      limit: limit + 1,
      order: 'desc',
      match: { tenant, api: 'v1' },
      where: ownedBy(tenant, 'v1'),
    });
    const data = await Promise.all(
      rows.slice(0, limit).map(async (r) => service.batch(await service.requireRecord(tenant, r.batchId))),
    );
    res.json({
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: rows.length > limit,
    });
  });

  router.get('/batches/:id', async (req, res) => {
    res.json(await service.batch(await service.requireRecord(tenantOf(res).id, req.params.id)));
  });

  router.post('/batches/:id/cancel', async (req, res) => {
    const record = await service.requireRecord(tenantOf(res).id, req.params.id);
    const state = await service.state(record);
    const status = batchObject(record, state).status;
    if (status !== 'in_progress' && status !== 'cancelling') {
      throw new V1Error(409, `Cannot cancel a batch with status '${status}'.`, null, 'batch_not_cancellable');
    }
    const cancelling = record.cancelling_at_ms === null ? { ...record, cancelling_at_ms: Date.now() } : record;
    if (cancelling !== record) await store.putRecord(record.id, OPENAI_RECORD, cancelling);
    try {
      await client.workflow.getHandle(batchWorkflowId(record.id)).signal(cancelSignal);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // it ended meanwhile: the next read says how
    }
    res.json(batchObject(cancelling, state));
  });

  return router;
}

async function* mapAsync<T, U>(source: AsyncIterable<T>, f: (t: T) => U): AsyncIterable<U> {
  for await (const t of source) yield f(t);
}
