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
 * Every route sees the caller's tenant's batches only. Creation: batchCreation.ts; what is accepted:
 * batchSchemas.ts.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { batchWorkflowId, cancelSignal } from '../../shared/contracts';
import { tenantOf } from '../auth';
import { OWNER_RECORD, ownedBy } from '../owner';
import { createV1Batch } from './batchCreation';
import { ListV1BatchesQuerySchema } from './batchSchemas';
import { parseOr400, V1Error } from './errors';
import { batchObject, listPage, OPENAI_RECORD } from './objects';
import type { V1Service } from './service';

export function batchesRouter(service: V1Service): Router {
  const { client, store } = service.deps;
  const router = Router();

  router.post('/batches', async (req, res) => {
    await createV1Batch(service, req, res);
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
    res.json(listPage(data, rows.length > limit));
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
