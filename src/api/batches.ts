/**
 * The project API's batches. Every route acts on the caller's tenant's batches only; another tenant's
 * batch is a 404, as is one that does not exist.
 *   POST /batches                 JSON {requests, model?, priority?, options?}, or application/x-ndjson
 *                                 lines with the options as query parameters
 *                                 → 201 {id, total, mode, modeReason, status}: running, or scheduled
 *                                 (Idempotency-Key: a repeat gets the first batch back, 200)
 *                                 ?wait=30s: 200 with the results if it ends within the wait, else 202
 *                                 (submitWait.ts)
 *   GET  /batches                 newest first: ?status, created_after, created_before, limit, cursor
 *   GET  /batches/:id             progress
 *   GET  /batches/:id/results     NDJSON: ?status=all|succeeded|failed, error_code, custom_id=a,b
 *   POST /batches/:id/retry       the dead letters as a new batch
 *                                 (its retryOf and this one's retriedBy link them)
 *   POST /batches/:id/cancel | pause | resume
 *   POST /batches/:id/priority    {priority: 1..5}
 *   POST /batches/:id/concurrency {maxChunksInFlight}
 * Where a new batch's lines come from: batchSources.ts; reading and signalling one: tenantBatches.ts.
 */
import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Config } from '../config';
import {
  cancelSignal,
  pauseSignal,
  resumeSignal,
  SetConcurrencyRequestSchema,
  setConcurrencySignal,
  SetPriorityRequestSchema,
  setPrioritySignal,
} from '../shared/contracts';
import { isEnded } from '../shared/statuses';
import type { BatchListView, BatchView, CreatedBatchView, RetriedBatchView } from '../shared/views';
import { isSuccess, type BatchStore } from '../storage/types';
import { tenantOf } from './auth';
import { deadLetters, jsonBatch, ndjsonBatch } from './batchSources';
import type { BatchCreator } from './createBatch';
import { HttpError } from './httpError';
import { newBatchId } from './ids';
import { asPipeline, storedPipeline } from './pipelines';
import { OWNER_RECORD, ownedBatch, ownedBy, OwnerRecordSchema } from './owner';
import { readProgress } from './progress';
import { ListBatchesQuerySchema, ResultsQuerySchema, RetryBatchRequestSchema } from './schemas';
import type { BatchWatch } from './batchWatch';
import { answerAfterWait, waitParam, writeNdjsonLines } from './submitWait';
import { TenantBatches } from './tenantBatches';
import { idempotencyKeyOf, parseBody } from './validation';

export interface BatchesDeps {
  client: Client;
  store: BatchStore;
  config: Config;
  creator: BatchCreator;
  /** Batch histories followed for `?wait` (shared with POST /requests). */
  watch: BatchWatch;
}

export function batchesRouter(deps: BatchesDeps): Router {
  const router = Router();
  const batches = new TenantBatches(deps);

  router.post('/batches', async (req, res) => {
    await createBatch(deps, batches, req, res);
  });

  router.get('/batches', async (req, res) => {
    const query = parseBody(ListBatchesQuerySchema, req.query, 'query');
    res.json(await listBatches(deps.store, batches, tenantOf(res).id, query));
  });

  router.get('/batches/:id', async (req, res) => {
    res.json(await batches.view(req.params.id, await batches.require(res, req.params.id)));
  });

  router.get('/batches/:id/results', async (req, res) => {
    await batches.require(res, req.params.id);
    await writeResults(deps.store, req, res);
  });

  router.post('/batches/:id/retry', async (req, res) => {
    await retryBatch(deps, batches, req, res);
  });

  const signalRoute = (action: string, signal: SignalDefinition, status: string) =>
    router.post(`/batches/:id/${action}`, async (req, res) => {
      await batches.signal(res, req.params.id, signal);
      res.status(202).json({ id: req.params.id, status });
    });
  signalRoute('cancel', cancelSignal, 'cancelling');
  signalRoute('pause', pauseSignal, 'paused');
  signalRoute('resume', resumeSignal, 'running');

  router.post('/batches/:id/priority', async (req, res) => {
    const { priority } = parseBody(SetPriorityRequestSchema, req.body, 'priority');
    await batches.signal(res, req.params.id, setPrioritySignal, priority);
    res.status(202).json({ id: req.params.id, priority });
  });

  router.post('/batches/:id/concurrency', async (req, res) => {
    const { maxChunksInFlight } = parseBody(SetConcurrencyRequestSchema, req.body, 'concurrency');
    await batches.signal(res, req.params.id, setConcurrencySignal, maxChunksInFlight);
    res.status(202).json({ id: req.params.id, maxChunksInFlight });
  });

  return router;
}

/** POST /batches: a JSON or NDJSON body; a repeated Idempotency-Key gets the earlier batch as it is now. */
async function createBatch(deps: BatchesDeps, batches: TenantBatches, req: Request, res: Response): Promise<void> {
  const arrivedAt = Date.now();
  const waitMs = waitParam(req); // a bad `wait` is refused before anything is read or stored
  const tenant = tenantOf(res);
  const ndjson = req.is('application/x-ndjson') === 'application/x-ndjson';
  const { request, lines } = ndjson ? ndjsonBatch(req, tenant) : jsonBatch(req.body);
  const created = await deps.creator.create({
    batchId: newBatchId(),
    tenant,
    api: 'project',
    request,
    lines,
    position: ndjson ? 'line' : 'index',
    webhookUrl: request.options?.webhook?.url ?? tenant.webhook?.url,
    nowMs: Date.now(),
    idempotencyKey: idempotencyKeyOf(req.get('idempotency-key')),
  });
  // A repeated Idempotency-Key: the earlier batch, as it is now (200, not 201: nothing was created).
  if (created.replayed) res.status(200).set('Idempotent-Replayed', 'true');
  else res.status(201);
  const status = created.replayed
    ? (await batches.view(created.id, await batches.require(res, created.id))).status
    : (created.status ?? 'running');
  const answer: CreatedBatchView = {
    id: created.id,
    total: created.total,
    mode: created.mode,
    modeReason: created.modeReason,
    status,
  };
  if (waitMs === undefined) res.json(answer);
  else await answerAfterWait(deps, batches, { res, batch: answer, ndjson, waitMs, arrivedAt });
}

/** GET /batches: the tenant's batches, newest first, a page at a time. */
async function listBatches(
  store: BatchStore,
  batches: TenantBatches,
  tenant: string,
  q: z.output<typeof ListBatchesQuerySchema>,
): Promise<BatchListView> {
  // Owner records keep createdAt as toISOString() gives it, so the range compares as strings (in the
  // store's query).
  const [createdFrom, createdBefore] = [q.created_after, q.created_before].map((t) =>
    t === undefined ? undefined : new Date(t).toISOString(),
  );
  const match = { tenant, createdFrom, createdBefore };
  const where = ownedBy(tenant);
  // Ids sort by creation time, so id order is newest first. A status filter is applied to each
  // batch's state, so pages are read until `limit` match (or the tenant's batches run out).
  const found: BatchView[] = [];
  let after = q.cursor;
  const page = 100;
  for (let exhausted = false; !exhausted && found.length <= q.limit;) {
    const rows = await store.listRecords(OWNER_RECORD, { after, limit: page, order: 'desc', match, where });
    exhausted = rows.length < page;
    for (const row of rows) {
      after = row.batchId;
      const v = await batches.view(row.batchId, OwnerRecordSchema.parse(row.record));
      if (q.status === undefined || v.status === q.status) found.push(v);
      if (found.length > q.limit) break;
    }
  }
  const data = found.slice(0, q.limit);
  return { data, next_cursor: found.length > q.limit ? (data.at(-1)?.id ?? null) : null };
}

/** GET /batches/:id/results: NDJSON, filtered by status, error code and custom_ids. */
async function writeResults(store: BatchStore, req: Request<{ id: string }>, res: Response): Promise<void> {
  const q = parseBody(ResultsQuerySchema, req.query, 'query');
  const ids = q.custom_id ? new Set(q.custom_id) : undefined;
  const lines = async function* () {
    for await (const line of store.streamResults(req.params.id, q.status)) {
      if (ids && !ids.has(line.custom_id)) continue;
      if (q.error_code !== undefined && (isSuccess(line) || line.error?.code !== q.error_code)) continue;
      yield line;
    }
  };
  await writeNdjsonLines(res, lines());
}

/** POST /batches/:id/retry: an ended batch's dead letters as a new batch, the two linked both ways. */
async function retryBatch(
  { client, store, creator }: BatchesDeps,
  batches: TenantBatches,
  req: Request<{ id: string }>,
  res: Response,
): Promise<void> {
  const id = req.params.id;
  const owner = await batches.require(res, id);
  const body = parseBody(RetryBatchRequestSchema, req.body ?? {}, 'retry');
  const progress = await readProgress(client, store, id);
  if (!isEnded(progress.status))
    throw new HttpError(
      409,
      `batch ${id} is ${progress.status}: its dead letters can be retried once it has ended`,
      undefined,
      'batch_not_ended',
    );
  if (progress.failed === 0)
    throw new HttpError(409, `batch ${id} has no dead letters to retry`, undefined, 'no_dead_letters');
  const batchId = newBatchId();
  // A pipeline's dead items run as a pipeline of the same steps, from the first step (a new batch has no answers).
  const pipeline = await storedPipeline(store, id);
  const options = pipeline ? { ...body.options, mode: 'realtime' as const } : body.options;
  const created = await creator.create({
    batchId,
    tenant: tenantOf(res),
    api: 'project',
    request: { requests: [], priority: body.priority ?? progress.priority, options },
    lines: deadLetters(store, id),
    position: 'line',
    retryOf: id,
    webhookUrl: body.options?.webhook?.url ?? owner.webhookUrl,
    nowMs: Date.now(),
    ...(pipeline ? asPipeline(store, batchId, pipeline) : {}),
  });
  // The link both ways: the new batch's retryOf, and the old one's retriedBy (re-read: another retry may
  // have just added to it).
  const latest = (await ownedBatch(store, owner.tenant, id)) ?? owner;
  await store.putRecord(id, OWNER_RECORD, { ...latest, retriedBy: [...(latest.retriedBy ?? []), created.id] });
  const answer: RetriedBatchView = {
    id: created.id,
    total: created.total,
    mode: created.mode,
    modeReason: created.modeReason,
    status: created.status ?? 'running',
    retryOf: id,
  };
  res.status(201).json(answer);
}
