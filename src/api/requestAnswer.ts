/**
 * Answering a single request (`POST /requests`, `GET /requests/:id`): waits up to the client's `wait` for the batch
 * it was gathered into (GatherWatch: the gatherer's history), then for its answer: the batch's results are read
 * again each time the batch completes a chunk (BatchWatch: its history), once for all its requests waiting here.
 * 200 with the answer, or 202 with `Location` to poll. A client that goes away stops the wait, never the request.
 */
import type { Response } from 'express';
import type { BatchOutputLine } from '../shared/contracts';
import type { RequestView } from '../shared/gather';
import type { StoredRequest } from '../storage/requests';
import { isSuccess, type BatchStore } from '../storage/types';
import type { BatchWatch } from './batchWatch';
import type { GatherWatch } from './gatherWatch';

export interface AnswerDeps {
  store: BatchStore;
  watch: GatherWatch;
  batches: BatchWatch;
  results: BatchResults;
}

export interface Waited {
  id: string;
  gatherer: string;
  stored: StoredRequest;
  waitMs: number;
  /** When the HTTP request arrived (ms): the wait counts from there. */
  arrivedAt: number;
}

/** 200 with the request's answer if it has one within the wait, else 202 with where to poll. */
export async function answerRequest(deps: AnswerDeps, res: Response, w: Waited): Promise<void> {
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const left = (): number => Math.max(0, w.waitMs - (Date.now() - w.arrivedAt));
  const batchId = w.stored.batchId ?? (await deps.watch.batchOf(w.gatherer, w.id, left(), gone.signal));
  const line = batchId === undefined ? undefined : await answerOf(deps, batchId, w.id, left, gone.signal);
  if (gone.signal.aborted) return;
  const view = requestView(w.id, w.stored, batchId, line);
  if (line) res.status(200).json(view);
  else res.status(202).location(`/requests/${w.id}`).json(view);
}

/** The request's result line once its chunk is done (BatchWatch), or undefined if it is not within the wait. */
async function answerOf(
  deps: AnswerDeps,
  batchId: string,
  id: string,
  left: () => number,
  signal: AbortSignal,
): Promise<BatchOutputLine | undefined> {
  if ((await deps.store.getOutcome(batchId)) !== undefined) return deps.results.of(batchId, id, Infinity);
  let seen = -1;
  for (;;) {
    const line = await deps.results.of(batchId, id, seen);
    if (line || left() <= 0 || signal.aborted) return line;
    const m = await deps.batches.after(batchId, seen, left(), signal);
    // Ended: its last answers are in the store, and no more will come.
    if (m.ended) return deps.results.of(batchId, id, Infinity);
    if (m.version === seen) return undefined;
    seen = m.version;
  }
}

/**
 * A batch's result lines by custom_id, read once per milestone (Milestone.version; Infinity: ended) for all its
 * requests waiting in this process: up to a chunk's worth of them are answered at the same moment. The latest
 * read of a few batches is kept.
 */
export class BatchResults {
  private readonly read = new Map<string, { at: number; lines: Promise<Map<string, BatchOutputLine>> }>();

  constructor(private readonly store: BatchStore) {}

  async of(batchId: string, id: string, at: number): Promise<BatchOutputLine | undefined> {
    let kept = this.read.get(batchId);
    if (!kept || kept.at < at) {
      const read = { at, lines: this.load(batchId) };
      kept = read;
      this.read.delete(batchId);
      this.read.set(batchId, read);
      // A few batches' worth: the requests of one batch come for it within moments of each other.
      if (this.read.size > 64) this.read.delete(this.read.keys().next().value as string);
      read.lines.catch(() => this.read.get(batchId) === read && this.read.delete(batchId));
    }
    return (await kept.lines).get(id);
  }

  private async load(batchId: string): Promise<Map<string, BatchOutputLine>> {
    const lines = new Map<string, BatchOutputLine>();
    for await (const line of this.store.streamResults(batchId, 'all')) lines.set(line.custom_id, line);
    return lines;
  }
}

export function requestView(
  id: string,
  stored: StoredRequest,
  batchId: string | undefined,
  line: BatchOutputLine | undefined,
): RequestView {
  const status = line ? (isSuccess(line) ? 'completed' : 'failed') : batchId ? 'running' : 'pending';
  return {
    id,
    custom_id: stored.customId,
    status,
    batch_id: batchId ?? null,
    created_at: stored.createdAt,
    response: line?.response ?? null,
    error: line?.error ?? null,
  };
}
