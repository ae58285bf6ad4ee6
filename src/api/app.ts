/**
 * The project API, built from its dependencies (the Temporal client is made once, at start-up).
 *   POST /batches                 {requests: [...], model?, priority?, options?}  → 201 {id, total, mode, modeReason, status}
 *   GET  /batches/:id             progress
 *   GET  /batches/:id/results     JSONL (?status=failed for the dead letters, succeeded, all)
 *   POST /batches/:id/cancel | pause | resume
 *   POST /batches/:id/priority    {priority: 1..5}
 *   POST /batches/:id/concurrency {maxChunksInFlight}
 *   GET  /lanes, PUT /lanes/limits   rate-limit lanes (lanes.ts)
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import {
  batchWorkflowId,
  cancelSignal,
  pauseSignal,
  resumeSignal,
  SetConcurrencyRequestSchema,
  setConcurrencySignal,
  SetPriorityRequestSchema,
  setPrioritySignal,
} from '../shared/contracts';
import type { BatchStore, ResultFilter } from '../storage/types';
import { estimateTokens } from '../shared/tokens';
import { HttpError } from './httpError';
import { lanesRouter } from './lanes';
import { readProgress } from './progress';
import { startBatch } from './startBatch';
import { parseBody, validateCreateBatch } from './validation';
import { v1Router } from './v1';

export interface ApiDeps {
  client: Client;
  store: BatchStore;
  config: Config;
}

/** Documented limit on a JSON request body. */
export const MAX_JSON_BODY = '100mb';

export function createApp({ client, store, config }: ApiDeps): express.Express {
  const app = express();
  app.use(express.json({ limit: MAX_JSON_BODY }));
  const handleOf = (id: string) => client.workflow.getHandle(batchWorkflowId(id));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.post('/batches', async (req, res) => {
    const request = validateCreateBatch(req.body, config.batch.defaultModel);
    const batchId = randomUUID();
    const manifest = await store.putInput(batchId, request.requests, config.batch.chunkSize, { max: config.batch.chunkTokens, of: estimateTokens });
    const started = await startBatch(client, config, request, manifest, Date.now());
    res.status(201).json({ ...started, status: 'running' });
  });

  app.get('/batches/:id', async (req, res) => {
    res.json({ id: req.params.id, ...(await readProgress(client, store, req.params.id)) });
  });

  app.get('/batches/:id/results', async (req, res) => {
    const filter = parseFilter(req.query.status);
    if (!(await store.getManifest(req.params.id))) throw new HttpError(404, `batch ${req.params.id} not found`);
    res.type('application/x-ndjson');
    for await (const line of store.streamResults(req.params.id, filter)) {
      if (!res.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });

  app.post('/batches/:id/cancel', async (req, res) => {
    await handleOf(req.params.id).signal(cancelSignal);
    res.status(202).json({ id: req.params.id, status: 'cancelling' });
  });

  app.post('/batches/:id/pause', async (req, res) => {
    await handleOf(req.params.id).signal(pauseSignal);
    res.status(202).json({ id: req.params.id, status: 'paused' });
  });

  app.post('/batches/:id/resume', async (req, res) => {
    await handleOf(req.params.id).signal(resumeSignal);
    res.status(202).json({ id: req.params.id, status: 'running' });
  });

  app.post('/batches/:id/priority', async (req, res) => {
    const { priority } = parseBody(SetPriorityRequestSchema, req.body, 'priority');
    await handleOf(req.params.id).signal(setPrioritySignal, priority);
    res.status(202).json({ id: req.params.id, priority });
  });

  app.post('/batches/:id/concurrency', async (req, res) => {
    const { maxChunksInFlight } = parseBody(SetConcurrencyRequestSchema, req.body, 'concurrency');
    await handleOf(req.params.id).signal(setConcurrencySignal, maxChunksInFlight);
    res.status(202).json({ id: req.params.id, maxChunksInFlight });
  });

  app.use(lanesRouter({ client, config }));
  app.use('/v1', v1Router({ client, store, config }));

  app.use((_req, _res, next) => next(new HttpError(404, 'route not found')));
  app.use(errorHandler);
  return app;
}

function parseFilter(raw: unknown): ResultFilter {
  if (raw === undefined || raw === 'all') return 'all';
  if (raw === 'failed' || raw === 'succeeded') return raw;
  throw new HttpError(400, `query parameter status: expected all, succeeded or failed, got ${JSON.stringify(raw)}`);
}

function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof WorkflowNotFoundError) {
    res.status(404).json({ error: { message: 'batch not found' } });
    return;
  }
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: { message: err.message, details: err.details } });
    return;
  }
  const status = (err as { status?: number; type?: string }).status;
  if (status && status >= 400 && status < 500) {
    // body-parser errors: malformed JSON, body too large
    res.status(status).json({ error: { message: (err as Error).message } });
    return;
  }
  console.error(err);
  res.status(500).json({ error: { message: 'internal error' } });
}
