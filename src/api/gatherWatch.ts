/**
 * Which batch a gathered request went into, learnt from Temporal rather than by polling the store: one long poll
 * of each gatherer's history per API process (the server answers when events arrive), shared by every request
 * waiting on that gatherer. A flush activity's completion names its batch and request ids (ids only); the
 * watch follows continue-as-new, and stops when no request waits.
 *
 * A request flushed by an earlier run of the gatherer, or before this process started watching, is in the store
 * (the flush records it before it completes): callers look there first, and the watch looks again for every
 * waiting request each time it starts reading a run.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { isClose } from './batchWatch';

const EventType = temporal.api.enums.v1.EventType;

/** Flushed requests remembered per gatherer, for waiters that arrive after the event was read. */
const REMEMBERED = 20_000;

type Resolve = (batchId: string | undefined) => void;

interface FlushResult {
  batchId: string;
  requestIds: string[];
}

const isFlushResult = (v: unknown): v is FlushResult =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as FlushResult).batchId === 'string' &&
  Array.isArray((v as FlushResult).requestIds);

class GathererWatch {
  readonly waiters = new Map<string, Set<Resolve>>();
  readonly flushed = new Map<string, string>();
  running = false;

  settle(requestId: string, batchId: string): void {
    this.flushed.set(requestId, batchId);
    if (this.flushed.size > REMEMBERED) this.flushed.delete(this.flushed.keys().next().value as string);
    for (const resolve of this.waiters.get(requestId) ?? []) resolve(batchId);
    this.waiters.delete(requestId);
  }
}

export class GatherWatch {
  private readonly watches = new Map<string, GathererWatch>();

  /** `lookup`: the batch the store has recorded for a request, if any. */
  constructor(
    private readonly client: Client,
    private readonly lookup: (requestId: string) => Promise<string | undefined>,
  ) {}

  /** The batch request `requestId` went into, once the gatherer `workflowId` flushed it; undefined after `ms`. */
  async batchOf(workflowId: string, requestId: string, ms: number, signal?: AbortSignal): Promise<string | undefined> {
    const watch = this.watches.get(workflowId) ?? new GathererWatch();
    this.watches.set(workflowId, watch);
    const known = watch.flushed.get(requestId) ?? (await this.lookup(requestId));
    if (known !== undefined || ms <= 0) return known;
    let done: Resolve = () => undefined;
    const found = new Promise<string | undefined>((resolve) => (done = resolve));
    const timer = setTimeout(() => done(undefined), ms);
    const stop = () => done(undefined);
    signal?.addEventListener('abort', stop, { once: true });
    const set = watch.waiters.get(requestId) ?? new Set<Resolve>();
    set.add(done);
    watch.waiters.set(requestId, set);
    if (!watch.running) this.run(workflowId, watch);
    try {
      return await found;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      set.delete(done);
      if (set.size === 0 && watch.waiters.get(requestId) === set) watch.waiters.delete(requestId);
    }
  }

  private run(workflowId: string, watch: GathererWatch): void {
    watch.running = true;
    this.follow(workflowId, watch)
      .catch(() => new Promise((r) => setTimeout(r, 500))) // Temporal unreachable: waiters time out; try again
      .finally(() => {
        watch.running = false;
        if (watch.waiters.size > 0) this.run(workflowId, watch);
      });
  }

  /** Reads the gatherer's runs, from the latest one's first event, while anyone waits. */
  private async follow(workflowId: string, watch: GathererWatch): Promise<void> {
    let runId: string | undefined;
    let nextPageToken: Uint8Array | undefined;
    let fresh = true;
    const converter = this.client.options.loadedDataConverter.payloadConverter;
    while (watch.waiters.size > 0) {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId, runId },
        nextPageToken,
        waitNewEvent: true,
        skipArchival: true,
      });
      let next: string | undefined;
      let closed = false;
      for (const e of page.history?.events ?? []) {
        if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
          const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
          const result: unknown = payload ? converter.fromPayload(payload) : undefined;
          if (isFlushResult(result)) for (const id of result.requestIds) watch.settle(id, result.batchId);
        } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) {
          next = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
        } else if (isClose(e.eventType)) closed = true;
      }
      if (fresh) {
        // What was flushed before this run began is in the store (see above).
        fresh = false;
        await this.recheck(watch);
      }
      if (next !== undefined) [runId, nextPageToken, fresh] = [next, undefined, true];
      else if (page.nextPageToken?.length) nextPageToken = page.nextPageToken;
      else if (closed) {
        // Ended idle: a request that came after starts a new run; look for it shortly.
        await new Promise((r) => setTimeout(r, 50));
        [runId, nextPageToken, fresh] = [undefined, undefined, true];
      }
    }
  }

  private async recheck(watch: GathererWatch): Promise<void> {
    for (const id of [...watch.waiters.keys()]) {
      const batchId = await this.lookup(id);
      if (batchId !== undefined) watch.settle(id, batchId);
    }
  }
}
