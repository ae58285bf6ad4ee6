/**
 * The project API's batches. Every route acts on the caller's tenant's batches only; another tenant's
 * batch is a 404, as is one that does not exist.
 *   POST /batches                 JSON {requests, model?, priority?, options?}, or application/x-ndjson
 *                                 lines with the options as query parameters  → 201 {id, total, mode, modeReason, status}
 *                                 (Idempotency-Key: a repeat gets the first batch back, 200)
 *   GET  /batches                 newest first: ?status, created_after, created_before, limit, cursor
 *   GET  /batches/:id             progress
 *   GET  /batches/:id/results     NDJSON: ?status=all|succeeded|failed, error_code, custom_id=a,b
 *   POST /batches/:id/retry       the dead letters as a new batch (its retryOf and this one's retriedBy link them)
 *   POST /batches/:id/cancel | pause | resume
 *   POST /batches/:id/priority    {priority: 1..5}
 *   POST /batches/:id/concurrency {maxChunksInFlight}
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { Router, type Request, type Response } from 'express';
import type { Config, Tenant } from '../config';
import {
  batchWorkflowId,
  cancelSignal,
  DEFAULT_PRIORITY,
  LIMITS,
  pauseSignal,
  resumeSignal,
  SetConcurrencyRequestSchema,
  setConcurrencySignal,
  SetPriorityRequestSchema,
  setPrioritySignal,
  type BatchLine,
  type CreateBatchRequest,
} from '../shared/contracts';
import { isSuccess, type BatchStore } from '../storage/types';
import { tenantOf } from './auth';
import type { BatchCreator, NumberedLine } from './createBatch';
import { HttpError } from './httpError';
import { OWNER_RECORD, ownedBatch, ownedBy, OwnerRecordSchema, type OwnerRecord } from './owner';
import { readProgress, type ProgressView } from './progress';
import { ListBatchesQuerySchema, NdjsonBatchQuerySchema, ResultsQuerySchema, RetryBatchRequestSchema } from './schemas';
import { newBatchId } from './ids';
import { describeProblem, BatchFileValidator } from './lines';
import { idempotencyKeyOf, parseBody, validateCreateBatch } from './validation';

export interface BatchesDeps {
  client: Client;
  store: BatchStore;
  config: Config;
  creator: BatchCreator;
}

/** A batch as GET /batches and GET /batches/:id show it. */
export type BatchView = ProgressView & { id: string; createdAt: string; retryOf: string | null; retriedBy: string[] };

const ENDED = new Set(['completed', 'cancelled', 'failed']);

export function batchesRouter({ client, store, creator }: BatchesDeps): Router {
  const router = Router();
  /** Signals one of the caller's batches; an ended batch cannot take signals: 409, as /v1's cancel answers. */
  async function signalBatch<Args extends unknown[]>(
    res: Response,
    id: string,
    signal: SignalDefinition<Args>,
    ...args: Args
  ): Promise<void> {
    await requireBatch(res, id);
    try {
      await client.workflow.getHandle(batchWorkflowId(id)).signal(signal, ...args);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpError(409, `batch ${id} has ended: it takes no more signals`, undefined, 'batch_ended');
      throw err;
    }
  }

  async function requireBatch(res: Response, id: string): Promise<OwnerRecord> {
    const owner = await ownedBatch(store, tenantOf(res).id, id);
    if (!owner) throw new HttpError(404, `batch ${id} not found`, undefined, 'not_found');
    return owner;
  }

  async function view(id: string, owner: OwnerRecord): Promise<BatchView> {
    const progress = await readProgress(client, store, id).catch((err: unknown) => {
      // Stored and owned, but no outcome and no workflow: its start failed (or a crash came between).
      if (err instanceof WorkflowNotFoundError) return neverStarted(id, owner);
      throw err;
    });
    return {
      id,
      createdAt: owner.createdAt,
      retryOf: owner.retryOf ?? null,
      retriedBy: owner.retriedBy ?? [],
      ...progress,
    };
  }

  router.post('/batches', async (req, res) => {
    const tenant = tenantOf(res);
    const ndjson = req.is('application/x-ndjson') === 'application/x-ndjson';
    const { request, lines } = ndjson ? ndjsonBatch(req, tenant) : jsonBatch(req.body);
    const created = await creator.create({
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
    const status = created.replayed ? (await view(created.id, await requireBatch(res, created.id))).status : 'running';
    res.json({ id: created.id, total: created.total, mode: created.mode, modeReason: created.modeReason, status });
  });

  router.get('/batches', async (req, res) => {
    const q = parseBody(ListBatchesQuerySchema, req.query, 'query');
    // Owner records keep createdAt as toISOString() gives it, so the range compares as strings (in the store's query).
    const [createdFrom, createdBefore] = [q.created_after, q.created_before].map((t) =>
      t === undefined ? undefined : new Date(t).toISOString(),
    );
    const tenant = tenantOf(res).id;
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
        const v = await view(row.batchId, OwnerRecordSchema.parse(row.record));
        if (q.status === undefined || v.status === q.status) found.push(v);
        if (found.length > q.limit) break;
      }
    }
    const data = found.slice(0, q.limit);
    res.json({ data, next_cursor: found.length > q.limit ? (data.at(-1)?.id ?? null) : null });
  });

  router.get('/batches/:id', async (req, res) => {
    res.json(await view(req.params.id, await requireBatch(res, req.params.id)));
  });

  router.get('/batches/:id/results', async (req, res) => {
    await requireBatch(res, req.params.id);
    const q = parseBody(ResultsQuerySchema, req.query, 'query');
    const ids = q.custom_id ? new Set(q.custom_id) : undefined;
    res.type('application/x-ndjson');
    for await (const line of store.streamResults(req.params.id, q.status)) {
      if (ids && !ids.has(line.custom_id)) continue;
      if (q.error_code !== undefined && (isSuccess(line) || line.error?.code !== q.error_code)) continue;
      if (!res.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });

  router.post('/batches/:id/retry', async (req, res) => {
    const id = req.params.id;
    const owner = await requireBatch(res, id);
    const body = parseBody(RetryBatchRequestSchema, req.body ?? {}, 'retry');
    const progress = await readProgress(client, store, id);
    if (!ENDED.has(progress.status))
      throw new HttpError(
        409,
        `batch ${id} is ${progress.status}: its dead letters can be retried once it has ended`,
        undefined,
        'batch_not_ended',
      );
    if (progress.failed === 0)
      throw new HttpError(409, `batch ${id} has no dead letters to retry`, undefined, 'no_dead_letters');
    const created = await creator.create({
      batchId: newBatchId(),
      tenant: tenantOf(res),
      api: 'project',
      request: { requests: [], priority: body.priority ?? progress.priority, options: body.options },
      lines: deadLetters(store, id),
      position: 'line',
      retryOf: id,
      webhookUrl: body.options?.webhook?.url ?? owner.webhookUrl,
      nowMs: Date.now(),
    });
    // The link both ways: the new batch's retryOf, and the old one's retriedBy (re-read: another retry may have just added to it).
    const latest = (await ownedBatch(store, owner.tenant, id)) ?? owner;
    await store.putRecord(id, OWNER_RECORD, { ...latest, retriedBy: [...(latest.retriedBy ?? []), created.id] });
    res
      .status(201)
      .json({
        id: created.id,
        total: created.total,
        mode: created.mode,
        modeReason: created.modeReason,
        status: 'running',
        retryOf: id,
      });
  });

  const signalRoute = (action: string, signal: SignalDefinition, status: string) =>
    router.post(`/batches/:id/${action}`, async (req, res) => {
      await signalBatch(res, req.params.id, signal);
      res.status(202).json({ id: req.params.id, status });
    });
  signalRoute('cancel', cancelSignal, 'cancelling');
  signalRoute('pause', pauseSignal, 'paused');
  signalRoute('resume', resumeSignal, 'running');

  router.post('/batches/:id/priority', async (req, res) => {
    const { priority } = parseBody(SetPriorityRequestSchema, req.body, 'priority');
    await signalBatch(res, req.params.id, setPrioritySignal, priority);
    res.status(202).json({ id: req.params.id, priority });
  });

  router.post('/batches/:id/concurrency', async (req, res) => {
    const { maxChunksInFlight } = parseBody(SetConcurrencyRequestSchema, req.body, 'concurrency');
    await signalBatch(res, req.params.id, setConcurrencySignal, maxChunksInFlight);
    res.status(202).json({ id: req.params.id, maxChunksInFlight });
  });

  return router;
}

/** A batch whose workflow never started reads as failed, so one such batch cannot break a listing. */
function neverStarted(id: string, owner: OwnerRecord): ProgressView {
  return {
    batchId: id,
    status: 'failed',
    total: owner.total,
    succeeded: 0,
    failed: 0,
    pending: owner.total,
    chunksInFlight: 0,
    itemsInFlight: 0,
    priority: DEFAULT_PRIORITY,
    maxChunksInFlight: 0,
    tokensIn: 0,
    tokensOut: 0,
    cacheHits: 0,
    startedAt: owner.createdAt,
    updatedAt: owner.createdAt,
    ratePerSecond: 0,
    eta: null,
    runs: 0,
    lane: null,
    mode: owner.mode,
    modeReason: null,
    costUsd: null,
    error: 'the batch has no workflow: it could not be started',
  };
}

function jsonBatch(body: unknown): { request: CreateBatchRequest; lines: NumberedLine[] } {
  const request = validateCreateBatch(body);
  return { request, lines: request.requests.map((r, at) => ({ at, request: r })) };
}

/** An NDJSON body: options from the query string, lines checked as they stream in, its size bounded by the tenant's quota. */
function ndjsonBatch(
  req: Request,
  tenant: Tenant,
): { request: CreateBatchRequest; lines: AsyncIterable<NumberedLine> } {
  const q = parseBody(NdjsonBatchQuerySchema, req.query, 'query');
  const request: CreateBatchRequest = {
    requests: [],
    model: q.model,
    priority: q.priority,
    options: {
      mode: q.mode,
      deadline: q.deadline,
      expiryPolicy: q.expiry_policy,
      maxAttempts: q.max_attempts,
      webhook: q.webhook_url ? { url: q.webhook_url } : undefined,
      budgetUsd: q.budget_usd,
      lane: q.lane,
      cache: q.cache,
    },
  };
  async function* lines(): AsyncIterable<NumberedLine> {
    const accepted: NumberedLine[] = [];
    const validator = new BatchFileValidator(
      { maxLineBytes: LIMITS.maxLineBytes, maxLines: LIMITS.maxItemsPerBatch },
      (r, at) => accepted.push({ at, request: r }),
    );
    const refuse = (): never => {
      const p = validator.problem;
      throw new HttpError(
        400,
        `invalid batch: ${p ? describeProblem(p).replace(/^Line/, 'line') : 'bad input'}`,
        p && { line: p.line, code: p.code },
        p?.code,
      );
    };
    let bytes = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > tenant.quotas.uploadBytes)
        throw new HttpError(
          413,
          `the body is larger than ${tenant.quotas.uploadBytes} bytes, the tenant's limit (upload size)`,
          undefined,
          'quota_exceeded',
        );
      if (validator.push(chunk)) refuse();
      yield* accepted.splice(0);
    }
    if (validator.end()) refuse();
    yield* accepted.splice(0);
  }
  return { request, lines: lines() };
}

/** The input lines of a batch's failed results, in input order. */
async function* deadLetters(store: BatchStore, batchId: string): AsyncIterable<NumberedLine> {
  const failed = new Set<string>();
  for await (const r of store.streamResults(batchId, 'failed')) failed.add(r.custom_id);
  const manifest = await store.getManifest(batchId);
  let at = 0;
  for (let chunk = 0; chunk < (manifest?.chunkCount ?? 0); chunk++) {
    const lines: BatchLine[] = await store.getChunk(batchId, chunk);
    for (const line of lines) {
      at += 1;
      if (failed.has(line.custom_id)) yield { at, request: line };
    }
  }
}
