/**
 * POST /pipelines: multi-step items. JSON `{steps, items, priority?, options?}` → 201 {id, total, mode,
 * modeReason, status}, a batch like any other (GET /batches/:id, its results, signals) whose items each run
 * the steps in order. Everything that can be wrong is refused here, before anything is stored: the steps
 * (names, templates, references, schemas, models), each item's custom_id and referenced fields, and the mode
 * (pipelines run in realtime mode only: a step needs the answer of the one before it).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config';
import { BatchOptionsSchema, PrioritySchema } from '../shared/contracts';
import {
  checkPipeline,
  missingItemField,
  PIPELINE_LIMITS,
  PIPELINE_RECORD,
  PipelineItemSchema,
  pipelineStepsId,
  PipelineSchema,
  type Pipeline,
  type PipelineItem,
} from '../shared/pipelines';
import { requestedSchema } from '../shared/structuredOutput';
import type { CreatedBatchView } from '../shared/views';
import type { BatchStore } from '../storage/types';
import { tenantOf } from './auth';
import type { BatchCreator, NewBatch, NumberedLine } from './createBatch';
import { HttpError } from './httpError';
import { newBatchId } from './ids';
import { outputSchemas } from './outputSchemas';
import { PIPELINE_MODE_REASON } from './plan';
import { idempotencyKeyOf, parseBody } from './validation';

/** The options a pipeline takes: those of a batch that mean something for one (no lane, cache or native). */
const PipelineOptionsSchema = BatchOptionsSchema.pick({
  mode: true,
  maxAttempts: true,
  maxChunksInFlight: true,
  webhook: true,
  repairAttempts: true,
  notBefore: true,
  window: true,
});

export const CreatePipelineRequestSchema = z.strictObject({
  steps: PipelineSchema.shape.steps,
  items: z.array(PipelineItemSchema).min(1).max(PIPELINE_LIMITS.maxItems),
  priority: PrioritySchema.optional(),
  options: PipelineOptionsSchema.optional(),
});
export type CreatePipelineRequest = z.infer<typeof CreatePipelineRequestSchema>;

const invalid = (reason: string, code: string, details?: unknown): HttpError =>
  new HttpError(400, `invalid pipeline: ${reason}`, details, code);

/** The steps as they will run: checked, each with its model (the step's, its body's, or the default). */
function checkSteps(steps: Pipeline['steps'], defaultModel: string | undefined): Pipeline {
  const problems = checkPipeline({ steps });
  const first = problems[0];
  if (first) {
    throw invalid(`${first.message} (at ${first.path})`, 'invalid_pipeline', problems);
  }
  return {
    steps: steps.map((step, index) => {
      for (const [where, schema] of [
        ['outputSchema', step.outputSchema],
        ['body schema', requestedSchema(step.endpoint, step.body)],
      ] as const) {
        const problem = schema && outputSchemas.problem(schema);
        if (problem)
          throw invalid(
            `steps.${index} (${step.name}): ${where}: not a valid JSON Schema: ${problem}`,
            'invalid_output_schema',
          );
      }
      if (step.model !== undefined || typeof step.body.model === 'string') return step;
      if (defaultModel === undefined)
        throw invalid(`steps.${index} (${step.name}): no model (give model or body.model)`, 'missing_model');
      return { ...step, model: defaultModel };
    }),
  };
}

/** The items as batch lines (their bodies are the items), after checking ids and referenced fields. */
function itemLines(pipeline: Pipeline, items: PipelineItem[]): NumberedLine[] {
  const seen = new Map<string, number>();
  return items.map((item, at) => {
    const earlier = seen.get(item.custom_id);
    if (earlier !== undefined)
      throw invalid(`items.${at}.custom_id: duplicate of items.${earlier} (${item.custom_id})`, 'duplicate_custom_id');
    seen.set(item.custom_id, at);
    const missing = missingItemField(pipeline, item);
    if (missing)
      throw invalid(`items.${at}: no value for {{${missing.reference}}} (step ${missing.step})`, 'missing_item_field');
    const url = pipeline.steps[0]!.endpoint;
    return { at, request: { custom_id: item.custom_id, method: 'POST' as const, url, body: item } };
  });
}

/**
 * What makes a new batch a pipeline (POST /pipelines, and the retry of a pipeline's dead letters): its steps,
 * stored beside its items before the workflow that reads them starts, and an empty store batch for the steps'
 * answers (pipelineStepsId), which chunk attempts append to.
 */
export function asPipeline(
  store: BatchStore,
  batchId: string,
  pipeline: Pipeline,
): Required<Pick<NewBatch, 'pipeline' | 'beforeStart'>> {
  return {
    pipeline,
    beforeStart: async (manifest) => {
      await store.putInput(pipelineStepsId(batchId), [], manifest.chunkSize);
      await store.putRecord(batchId, PIPELINE_RECORD, pipeline);
    },
  };
}

/** The batch's pipeline, if it is one. */
export async function storedPipeline(store: BatchStore, batchId: string): Promise<Pipeline | undefined> {
  const record = await store.getRecord(batchId, PIPELINE_RECORD);
  return record === undefined ? undefined : PipelineSchema.parse(record);
}

export function pipelinesRouter(deps: { store: BatchStore; config: Config; creator: BatchCreator }): Router {
  const router = Router();
  router.post('/pipelines', async (req, res) => {
    const request = parseBody(CreatePipelineRequestSchema, req.body, 'pipeline');
    const { options = {}, priority } = request;
    if (options.mode === 'native')
      throw invalid(`options.mode: native is not supported: ${PIPELINE_MODE_REASON}`, 'pipeline_mode');
    const pipeline = checkSteps(request.steps, deps.config.batch.defaultModel);
    const lines = itemLines(pipeline, request.items);
    const tenant = tenantOf(res);
    const batchId = newBatchId();
    const created = await deps.creator.create({
      batchId,
      tenant,
      api: 'project',
      request: { requests: [], priority, options: { ...options, mode: 'realtime' } },
      lines,
      position: 'item',
      webhookUrl: options.webhook?.url ?? tenant.webhook?.url,
      nowMs: Date.now(),
      idempotencyKey: idempotencyKeyOf(req.get('idempotency-key')),
      ...asPipeline(deps.store, batchId, pipeline),
    });
    const answer: CreatedBatchView = {
      id: created.id,
      total: created.total,
      mode: created.mode,
      modeReason: created.modeReason,
      status: created.status ?? 'running',
    };
    res.status(created.replayed ? 200 : 201).json(answer);
  });
  return router;
}
