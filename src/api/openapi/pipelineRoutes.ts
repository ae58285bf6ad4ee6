/** The route table's entry for `POST /pipelines` (multi-step items; src/api/pipelines.ts). */
import { CreatePipelineRequestSchema } from '../pipelines';
import { CreatedBatchSchema } from './responses';
import { apiError, IdempotencyHeader, json, jsonBody, type RouteDoc } from './routeDoc';

export const PIPELINE_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/pipelines',
    operationId: 'createPipeline',
    summary: 'Create a pipeline: named steps run in order for every item',
    description:
      'A batch (read it with `GET /batches/{batch_id}` and its results) whose items each run the steps in order, a ' +
      "step's strings rendered from the item and earlier steps' answers: `{{item.topic}}`, " +
      '`{{steps.headline.text}}`, `{{steps.headline.json.title}}` (that step needs an `outputSchema`). ' +
      "1 to 20 steps, 1 to 100,000 items. A step's dead letter stops its item and names the step. " +
      'Runs in realtime mode only: `options.mode: "native"` is refused. Everything that can be wrong is refused ' +
      'with 400 naming the step, the place and the reference (or the item), and nothing is created.',
    tags: ['batches'],
    params: { header: IdempotencyHeader },
    body: jsonBody(CreatePipelineRequestSchema.meta({ id: 'CreatePipelineRequest' })),
    responses: {
      '201': json(CreatedBatchSchema, 'Created and started (mode `realtime`, with its reason).'),
      '200': json(
        CreatedBatchSchema,
        'A repeated Idempotency-Key: the batch the first request created, as it is now (header ' +
          '`Idempotent-Replayed: true`).',
      ),
      '400': apiError(
        'Invalid pipeline (`invalid_pipeline`, `invalid_output_schema`, `missing_model`, `missing_item_field`, ' +
          '`duplicate_custom_id`, `pipeline_mode`): the message names the step and the reference, or the item.',
      ),
      '409': apiError('A request with this Idempotency-Key is still being processed (`idempotency_key_in_use`).'),
      '422': apiError('This Idempotency-Key was already used with another request (`idempotency_key_reused`).'),
      '413': apiError("The body is larger than the tenant's upload quota (or 100 MB of JSON)."),
      '429': apiError("The tenant's quota of concurrent batches is used up."),
    },
  },
];
