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
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Request, Response } from 'express';
import { batchWorkflowId } from '../shared/contracts';
import type { BatchOutputLine } from '../shared/contracts';
import type { CreatedBatchView, WaitedBatchView, WaitingBatchView, WaitOutcome } from '../shared/views';
import type { BatchStore } from '../storage/types';
import type { Config } from '../config';
import { INLINE_MAX_ITEMS, WaitQuerySchema } from './schemas';
import type { TenantBatches } from './tenantBatches';
import { parseBody } from './validation';

const EventType = temporal.api.enums.v1.EventType;
const { HISTORY_EVENT_FILTER_TYPE_ALL_EVENT: ALL_EVENTS, HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT: CLOSE_EVENT } =
  temporal.api.enums.v1.HistoryEventFilterType;

export interface WaitDeps {
  client: Client;
  store: BatchStore;
  config: Config;
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
  const grace = deps.config.batch.retryGraceMs > 0;
  // An ended batch (a repeated Idempotency-Key) has its outcome stored: one read, then no wait.
  const ended =
    (await deps.store.getOutcome(batch.id)) !== undefined ||
    (await endsWithin(deps.client, batch.id, remaining, grace, gone.signal));
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

/**
 * True when batch `id` ends within `ms` (false also when `signal` aborts first). "Ended" is what the API's
 * progress reads as ended: the stored outcome, which the finishBatch activity writes just before the workflow
 * closes. A completed batch with dead letters and LLMBATCH_RETRY_GRACE stays open after that, so with a grace the
 * wait watches the history for finishBatch's completion; without one, for the close event alone.
 */
export async function endsWithin(client: Client, id: string, ms: number, grace: boolean, signal: AbortSignal) {
  // A controller and a timer of our own: AbortSignal.any([signal, AbortSignal.timeout(ms)]) did not fire under
  // Node 20 in the tests (the wait ran to the batch's end); it holds its sources weakly, and nothing else held them.
  const waited = new AbortController();
  const stop = () => waited.abort();
  const timer = setTimeout(stop, ms);
  signal.addEventListener('abort', stop, { once: true });
  try {
    await client.withAbortSignal(waited.signal, () => historyEnd(client, batchWorkflowId(id), grace, waited.signal));
    return true;
  } catch (err) {
    if (waited.signal.aborted) return false;
    throw err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/**
 * Long-polls the workflow's history (`waitNewEvent`: the server holds each call until events arrive) until the
 * close of its last run, or with `grace` until a finishBatch activity has completed. Written out rather than
 * `handle.result()`: that needs the close, which a grace delays by up to LLMBATCH_RETRY_GRACE, and its loop does
 * not look at the abort signal between long polls (the connection cancels only a call in flight), so an abort
 * landing between two would leave it polling until the batch closes. This loop checks before every call.
 */
async function historyEnd(client: Client, workflowId: string, grace: boolean, signal: AbortSignal): Promise<void> {
  let runId: string | undefined;
  let nextPageToken: Uint8Array | undefined;
  const finishes = new Set<string>();
  for (;;) {
    signal.throwIfAborted();
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      nextPageToken,
      waitNewEvent: true,
      historyEventFilterType: grace ? ALL_EVENTS : CLOSE_EVENT,
      skipArchival: true,
    });
    let next: string | undefined;
    for (const e of page.history?.events ?? []) {
      const seen = endOf(e, finishes);
      if (seen === 'ended') return;
      if (seen) next = seen.nextRun;
    }
    if (next !== undefined) {
      [runId, nextPageToken] = [next, undefined];
      finishes.clear();
      continue;
    }
    // No token: the run is closed and its history read (a closed run's close event ends the loop above).
    if (!page.nextPageToken?.length) return;
    nextPageToken = page.nextPageToken;
  }
}

/** What one history event says: `ended`, the next run (continued as new), or nothing (undefined). */
export function endOf(
  e: temporal.api.history.v1.IHistoryEvent,
  finishes: Set<string>,
): 'ended' | { nextRun: string } | undefined {
  switch (e.eventType) {
    case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'finishBatch') finishes.add(String(e.eventId));
      return undefined;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      return finishes.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ? 'ended' : undefined;
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: {
      const nextRun = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      return nextRun ? { nextRun } : 'ended';
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return 'ended';
    default:
      return undefined;
  }
}
