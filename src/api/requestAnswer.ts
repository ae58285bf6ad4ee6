/**
 * Answering a single request (`POST /requests`, `GET /requests/:id`): waits up to the client's `wait` for the batch
 * it was gathered into (GatherWatch: the gatherer's history), then for that batch to end (the same long poll of the
 * batch's history as `POST /batches?wait`, one per batch and process, shared by its waiting requests), and reads
 * its result line once. 200 with the answer, or 202 with `Location` to poll. A client that goes away stops the
 * wait, never the request.
 */
import type { Client } from '@temporalio/client';
import type { Response } from 'express';
import type { BatchOutputLine } from '../shared/contracts';
import type { RequestView } from '../shared/gather';
import type { StoredRequest } from '../storage/requests';
import { isSuccess, type BatchStore } from '../storage/types';
import type { GatherWatch } from './gatherWatch';
import { MAX_WAIT_MS } from './schemas';
import { endsWithin } from './submitWait';

/** Waits for batches to end, one long poll per batch however many of its requests wait. */
export class BatchEnds {
  private readonly polls = new Map<string, Promise<boolean>>();

  constructor(
    private readonly client: Client,
    private readonly grace: boolean,
  ) {}

  /** True when batch `batchId` ends within `ms` (false also when `signal` aborts first). */
  async within(batchId: string, ms: number, signal: AbortSignal): Promise<boolean> {
    const until = Date.now() + ms;
    while (!signal.aborted && Date.now() < until) {
      let poll = this.polls.get(batchId);
      if (!poll) {
        poll = endsWithin(this.client, batchId, MAX_WAIT_MS, this.grace, new AbortController().signal).finally(() =>
          this.polls.delete(batchId),
        );
        this.polls.set(batchId, poll);
      }
      // A poll another request started may run out before this wait does: then poll again.
      if (await raceUntil(poll, until - Date.now(), signal)) return true;
    }
    return false;
  }
}

async function raceUntil(poll: Promise<boolean>, ms: number, signal: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let stop = (): void => undefined;
  const out = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    stop = () => resolve(false);
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([poll, out]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

export interface AnswerDeps {
  client: Client;
  store: BatchStore;
  watch: GatherWatch;
  ends: BatchEnds;
  results: EndedResults;
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
  let line: BatchOutputLine | undefined;
  if (batchId !== undefined) {
    let ended = (await deps.store.getOutcome(batchId)) !== undefined;
    if (!ended && left() > 0) ended = await deps.ends.within(batchId, left(), gone.signal);
    if (gone.signal.aborted) return;
    line = await deps.results.of(batchId, w.id, ended);
  }
  if (gone.signal.aborted) return;
  const view = requestView(w.id, w.stored, batchId, line);
  if (line) res.status(200).json(view);
  else res.status(202).location(`/requests/${w.id}`).json(view);
}

/**
 * An ended batch's result lines by custom_id, read once for all its requests waiting in this process (up to max
 * items of them answer at the same moment). Only ended batches are kept: their results no longer change.
 */
export class EndedResults {
  private readonly read = new Map<string, Promise<Map<string, BatchOutputLine>>>();

  constructor(private readonly store: BatchStore) {}

  async of(batchId: string, id: string, ended: boolean): Promise<BatchOutputLine | undefined> {
    if (!ended) return (await this.load(batchId)).get(id);
    let lines = this.read.get(batchId);
    if (!lines) {
      lines = this.load(batchId);
      this.read.set(batchId, lines);
      // A few batches' worth: the requests of one batch come for it within moments of each other.
      if (this.read.size > 64) this.read.delete(this.read.keys().next().value as string);
      lines.catch(() => this.read.delete(batchId));
    }
    return (await lines).get(id);
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
