/**
 * Where a new batch of the project API gets its request and lines: a JSON body, an NDJSON body (options
 * in the query string), or the dead letters of an ended batch (POST /batches/:id/retry).
 */
import type { Request } from 'express';
import type { Tenant } from '../config';
import { LIMITS, type BatchLine, type CreateBatchRequest } from '../shared/contracts';
import type { BatchStore } from '../storage/types';
import type { NumberedLine } from './createBatch';
import { HttpError } from './httpError';
import { BatchFileValidator, describeProblem } from './lines';
import { NdjsonBatchQuerySchema } from './schemas';
import { parseBody, validateCreateBatch } from './validation';

export function jsonBatch(body: unknown): { request: CreateBatchRequest; lines: NumberedLine[] } {
  const request = validateCreateBatch(body);
  return { request, lines: request.requests.map((r, at) => ({ at, request: r })) };
}

/** An NDJSON body: options from the query string, lines checked as they stream in, its size bounded by the quota. */
export function ndjsonBatch(
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
      notBefore: q.not_before,
      window: q.window,
      expiryPolicy: q.expiry_policy,
      maxAttempts: q.max_attempts,
      webhook: q.webhook_url ? { url: q.webhook_url } : undefined,
      budgetUsd: q.budget_usd,
      lane: q.lane,
      cache: q.cache,
      outputSchema: q.output_schema,
      repairAttempts: q.repair_attempts,
    },
  };
  return { request, lines: ndjsonLines(req, tenant) };
}

async function* ndjsonLines(body: AsyncIterable<Buffer>, tenant: Tenant): AsyncIterable<NumberedLine> {
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
  for await (const chunk of body) {
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

/** The input lines of a batch's failed results, in input order. */
export async function* deadLetters(store: BatchStore, batchId: string): AsyncIterable<NumberedLine> {
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
