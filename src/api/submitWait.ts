/**
 * `POST /batches?wait=30s`: submit and wait. When the batch ends within the wait the answer is 200 with its
 * results inline: NDJSON for an NDJSON request (the lines `GET /batches/:id/results` gives), JSON otherwise
 * (`WaitedBatchView`: the progress and `results`). Otherwise 202 (`WaitingBatchView`) with a `Location` to poll,
 * and the batch goes on. Every answer carries the id in `Llmbatch-Batch-Id` and what happened in `Llmbatch-Wait`
 * (`ended`, `timeout`, `native`, `scheduled`, `too_large`).
 *
 * The wait is Temporal's: a long poll of the workflow's history (the server answers when events arrive), never
 * a loop over the store. A client that goes away stops the wait, never the batch: nothing here signals it.
 */
import type { Request, Response } from 'express';
import type { BatchOutputLine } from '../shared/contracts';
import type { CreatedBatchView, WaitedBatchView, WaitingBatchView, WaitOutcome } from '../shared/views';
import type { BatchStore } from '../storage/types';
import type { BatchWatch } from './batchWatch';
import { INLINE_MAX_ITEMS, WaitQuerySchema } from './schemas';
import type { TenantBatches } from './tenantBatches';
import { parseBody } from './validation';

export interface WaitDeps {
  store: BatchStore;
  /** The app's one watch of batch histories, shared with POST /requests. */
  watch: BatchWatch;
}

/** The `wait` query parameter in ms (undefined: answer at once); a bad or too long one is a 400 naming it. */
export function waitParam(req: Request): number | undefined {
  return parseBody(WaitQuerySchema, { wait: req.query.wait }, 'query').wait;
}

export interface WaitedSubmit {
  res: Response;
  /** What POST /batches answers without a wait. */
  batch: CreatedBatchView;
  /** The request's body was NDJSON: so is the answer. */
  ndjson: boolean;
  waitMs: number;
  /** When the request arrived (ms): the wait counts from there, upload and checks included. */
  arrivedAt: number;
}

/** Answers a created batch after waiting up to `waitMs` for it to end: 200 with its results, or 202. */
export async function answerAfterWait(deps: WaitDeps, batches: TenantBatches, w: WaitedSubmit): Promise<void> {
  const { res, batch } = w;
  res.set('Llmbatch-Batch-Id', batch.id);
  if (batch.mode === 'native')
    return accepted(res, batch, 'native', 0, 'a native batch runs as provider batches (minutes to hours): no wait');
  if (batch.status === 'scheduled')
    return accepted(res, batch, 'scheduled', 0, 'the batch starts at its notBefore time: no wait');
  if (batch.total > INLINE_MAX_ITEMS)
    return accepted(
      res,
      batch,
      'too_large',
      0,
      `over ${INLINE_MAX_ITEMS.toLocaleString('en-US')} items: no results inline`,
    );
  // A client that disconnects stops the wait (and nothing else). `res`, not `req`: since Node 16 a request's
  // 'close' also fires once its body has been read, which here is before the wait begins.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  if (res.closed) gone.abort(); // gone already, while the batch was being created
  const start = Date.now();
  const remaining = Math.max(0, w.waitMs - (start - w.arrivedAt));
  // An ended batch (a repeated Idempotency-Key) has its outcome stored: one read, then no wait.
  const ended =
    (await deps.store.getOutcome(batch.id)) !== undefined ||
    (await deps.watch.endsWithin(batch.id, remaining, gone.signal));
  if (gone.signal.aborted) return;
  if (!ended) {
    const waited = Date.now() - start;
    return accepted(res, batch, 'timeout', waited, `the batch did not end within ${w.waitMs} ms: poll its Location`);
  }
  await answerEnded(deps.store, batches, w);
}

/** 202: the batch goes on; poll `Location`. */
function accepted(res: Response, batch: CreatedBatchView, wait: WaitOutcome, waitedMs: number, message: string) {
  const answer: WaitingBatchView = { ...batch, wait, waitedMs, message };
  res.status(202).location(`/batches/${batch.id}`).set('Llmbatch-Wait', wait).json(answer);
}

/** 200: the ended batch's results, NDJSON for an NDJSON request, else its progress with `results`. */
async function answerEnded(store: BatchStore, batches: TenantBatches, { res, batch, ndjson }: WaitedSubmit) {
  const view = await batches.view(batch.id, await batches.require(res, batch.id));
  res.status(200).set('Llmbatch-Wait', 'ended').set('Llmbatch-Batch-Status', view.status);
  if (ndjson) return writeNdjsonLines(res, store.streamResults(batch.id, 'all'));
  const results: BatchOutputLine[] = [];
  for await (const line of store.streamResults(batch.id, 'all')) results.push(line);
  const answer: WaitedBatchView = { ...view, results };
  res.json(answer);
}

/** Writes result lines as NDJSON, waiting for the socket to drain; the same lines as GET /batches/:id/results. */
export async function writeNdjsonLines(res: Response, lines: AsyncIterable<BatchOutputLine>): Promise<void> {
  res.type('application/x-ndjson');
  for await (const line of lines) {
    if (!res.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}
