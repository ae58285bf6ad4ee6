import { Router } from 'express';
import { z } from 'zod';
import { MODEL_ENDPOINTS } from '../endpoints/registry';
import { parseBody } from '../endpoints/validation';
import type { SimulatorContext } from '../http/context';
import { limitParam, listPage, parseQuery } from '../http/query';

const createBatchSchema = z.looseObject({
  input_file_id: z.string().min(1),
  endpoint: z.enum(MODEL_ENDPOINTS as [string, ...string[]]),
  // Only "24h" exists on the real API; the simulated window length is the completionWindowMs knob.
  completion_window: z.literal('24h'),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys')
    .nullish(),
});

const listQuery = z.object({ after: z.string().optional(), limit: limitParam(100, 20) });

export function batchesRouter(ctx: SimulatorContext): Router {
  const router = Router();

  router.post('/', (req, res) => {
    const params = parseBody(createBatchSchema, req.body);
    const batch = ctx.batches.create(params);
    ctx.stats.recordBatchCreated();
    res.json(batch);
  });

  router.get('/', (req, res) => {
    const { after, limit } = parseQuery(listQuery, req.query);
    const { data, hasMore } = ctx.batches.list(after, limit);
    res.json(listPage(data, hasMore));
  });

  router.get('/:id', (req, res) => {
    res.json(ctx.batches.get(req.params.id));
  });

  router.post('/:id/cancel', (req, res) => {
    res.json(ctx.batches.cancel(req.params.id));
  });

  return router;
}
