/**
 * Single requests, gathered into batches:
 *   POST /requests      {endpoint?, body, custom_id?} → 200 with the answer when it comes within `wait` (60 s by
 *                       default), else 202 {id, status, ...} with Location; `wait=0`: 202 at once
 *   GET  /requests/:id  the request, and its answer once it has one; `wait` long-polls for it (default 0)
 * A request is checked like a batch line, its line stored by its id (the claim check), and its id signalled to
 * the gatherer of its tenant and lane (signal-with-start, a fixed workflow id: every API replica feeds the same
 * one). Only once Temporal has the signal is it answered, so an API that dies after answering loses nothing.
 * The gatherer forms ordinary batches of them (workflows/gather). Another tenant's request is a 404.
 */
import type { Client } from '@temporalio/client';
import { Router, type Request, type Response } from 'express';
import type { Config, Tenant } from '../config';
import { nativeTaskQueue, type BatchLine } from '../shared/contracts';
import { DEFAULT_GATHER_LANE, gatherWorkflowId, REQUEST_ID, type GatherWorkflowInput } from '../shared/gather';
import type { RequestStore, StoredRequest } from '../storage/requests';
import type { BatchStore } from '../storage/types';
import { tenantOf } from './auth';
import { GatherSignals } from './gatherSignals';
import { GatherWatch } from './gatherWatch';
import { HttpError } from './httpError';
import { newRequestId } from './ids';
import { checkLine } from './lines';
import { laneFor } from './plan';
import { PendingRequests } from './pendingRequests';
import type { BatchWatch } from './batchWatch';
import { answerRequest, BatchResults, type AnswerDeps } from './requestAnswer';
import { MAX_WAIT_MS, RequestWaitQuerySchema, SingleRequestSchema } from './schemas';
import { parseBody } from './validation';

export interface RequestsDeps {
  client: Client;
  store: BatchStore;
  requests: RequestStore;
  config: Config;
  /** Batch histories followed for the answers (shared with POST /batches?wait). */
  watch: BatchWatch;
}

/** What admits a request: the tenant's pending limit, and the signals to its gatherer. */
interface Gate {
  pending: PendingRequests;
  signals: GatherSignals;
}

/** A gatherer with nothing pending ends after this long; the next request starts it again. */
const GATHERER_IDLE_MS = 60_000;

export function requestsRouter(deps: RequestsDeps): Router {
  const router = Router();
  const answers: AnswerDeps = {
    store: deps.store,
    watch: new GatherWatch(deps.client, async (id) => (await deps.requests.get(id))?.batchId),
    batches: deps.watch,
    results: new BatchResults(deps.store),
  };
  const signals = new GatherSignals(deps.client, deps.config);
  const gate: Gate = { pending: new PendingRequests(deps.client, deps.config, signals.sender), signals };

  router.post('/requests', async (req, res) => {
    const arrivedAt = Date.now();
    const { wait } = parseBody(RequestWaitQuerySchema, req.query, 'query');
    const tenant = tenantOf(res);
    const { id, stored } = await accept(deps, gate, { tenant, arrivedAt }, req, res);
    const gatherer = gatherWorkflowId(tenant.id, stored.lane);
    await answerRequest(answers, res, { id, gatherer, stored, waitMs: wait ?? MAX_WAIT_MS, arrivedAt });
  });

  router.get('/requests/:id', async (req, res) => {
    const arrivedAt = Date.now();
    const { wait } = parseBody(RequestWaitQuerySchema, req.query, 'query');
    const id = req.params.id;
    const stored = REQUEST_ID.test(id) ? await deps.requests.get(id) : undefined;
    // Another tenant's request is answered exactly like one that does not exist.
    if (!stored || stored.tenant !== tenantOf(res).id)
      throw new HttpError(404, 'request not found', undefined, 'not_found');
    const gatherer = gatherWorkflowId(stored.tenant, stored.lane);
    await answerRequest(answers, res, { id, gatherer, stored, waitMs: wait ?? 0, arrivedAt });
  });

  return router;
}

/** Checks, stores and hands the request to its gatherer; 400 naming the field, 429 past the pending limit. */
async function accept(
  deps: RequestsDeps,
  gate: Gate,
  { tenant, arrivedAt }: { tenant: Tenant; arrivedAt: number },
  req: Request,
  res: Response,
) {
  const { config } = deps;
  const { pending, signals } = gate;
  const input = parseBody(SingleRequestSchema, req.body, 'request');
  const id = newRequestId();
  const line = checkedLine(id, input.endpoint, input.body, config.batch.defaultModel);
  const laneRef = laneFor([line], config.lanes);
  const lane = laneRef ? (laneRef.name ?? laneRef.taskQueue) : DEFAULT_GATHER_LANE;
  const admitted = await pending.admit(tenant, gatherWorkflowId(tenant.id, lane), res);
  const stored: StoredRequest = {
    tenant: tenant.id,
    lane,
    customId: input.custom_id ?? null,
    createdAt: new Date(arrivedAt).toISOString(),
    line,
  };
  const gather: GatherWorkflowInput = {
    tenant: tenant.id,
    quotas: tenant.quotas,
    lane,
    maxItems: Math.min(config.gather.maxItems, tenant.quotas.itemsPerBatch),
    maxWaitMs: config.gather.maxWaitMs,
    idleMs: GATHERER_IDLE_MS,
    activityTaskQueue: nativeTaskQueue(config.temporal.taskQueue),
  };
  try {
    await deps.requests.put(id, stored);
    pending.signalled(admitted, await signals.send(gather, id, arrivedAt));
  } catch (err) {
    pending.release(admitted);
    throw err;
  }
  return { id, stored };
}

/** The request as a batch line (custom_id: its id), checked as POST /batches checks a line; 400 naming the field. */
function checkedLine(id: string, endpoint: string, body: Record<string, unknown>, defaultModel?: string): BatchLine {
  const model = body.model ?? defaultModel;
  const problem =
    model === undefined
      ? 'missing, and there is no default model (set LLMBATCH_DEFAULT_MODEL)'
      : typeof model !== 'string' || model === ''
        ? 'must be a non-empty string'
        : undefined;
  if (problem) throw new HttpError(400, `invalid request: body.model: ${problem}`, undefined, 'invalid_model');
  const checked = checkLine(JSON.stringify({ custom_id: id, method: 'POST', url: endpoint, body: { ...body, model } }));
  if (!checked.ok) throw new HttpError(400, `invalid request: ${checked.reason}`, undefined, checked.code);
  return checked.line;
}
