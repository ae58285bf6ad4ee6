/**
 * What requests waiting on a gathered batch learn of it, from its history rather than by polling the store: each
 * activity it completes (a chunk, whose answers are then in the store) and its end. One long poll per batch and
 * API process, shared by every request of it waiting here; it stops when none waits. A request is answered once
 * its own chunk is done, without waiting for its batch mates in other chunks or for the batch's end.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { batchWorkflowId } from '../shared/contracts';

const EventType = temporal.api.enums.v1.EventType;

/**
 * Where a batch is: `version` grows with each activity it completes (-1: none seen yet), drawn from one counter for
 * every watch, so a batch watched again never repeats a version an earlier watch gave; `ended` once it has ended.
 */
export interface Milestone {
  version: number;
  ended: boolean;
}

class Watched {
  milestone: Milestone = { version: -1, ended: false };
  readonly waiters = new Set<() => void>();
  readonly stop = new AbortController();
  /** finishBatch's scheduled event ids: its completion is the batch's end (the outcome is stored). */
  readonly finishes = new Set<string>();

  advance(version: number, ended: boolean): void {
    this.milestone = { version, ended: this.milestone.ended || ended };
    for (const wake of this.waiters) wake();
  }
}

export class BatchWatch {
  private readonly batches = new Map<string, Watched>();
  private versions = 0;

  constructor(private readonly client: Client) {}

  /**
   * True when batch `batchId` ends within `ms` (false at `ms` or on an abort). Ended is what the API reads as ended:
   * the stored outcome, which finishBatch writes (a batch with dead letters and LLMBATCH_RETRY_GRACE stays open
   * after it), so finishBatch's completion counts, as does the workflow's close.
   */
  async endsWithin(batchId: string, ms: number, signal: AbortSignal): Promise<boolean> {
    const until = Date.now() + ms;
    for (let seen = -1; ;) {
      const m = await this.after(batchId, seen, Math.max(0, until - Date.now()), signal);
      if (m.ended) return true;
      if (m.version === seen || signal.aborted || Date.now() >= until) return false;
      seen = m.version;
    }
  }

  /** Batch `batchId`'s milestone once it is past `seen` (a version), or as it is after `ms` or an abort. */
  async after(batchId: string, seen: number, ms: number, signal: AbortSignal): Promise<Milestone> {
    let watched = this.batches.get(batchId);
    if (!watched) {
      watched = new Watched();
      this.batches.set(batchId, watched);
      this.follow(batchId, watched);
    }
    const w = watched;
    if (w.milestone.version > seen || w.milestone.ended) return w.milestone;
    let wake = (): void => undefined;
    const moved = new Promise<void>((resolve) => (wake = resolve));
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
    w.waiters.add(wake);
    try {
      await moved;
      return w.milestone;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      w.waiters.delete(wake);
      if (w.waiters.size === 0) this.forget(batchId, w);
    }
  }

  private forget(batchId: string, w: Watched): void {
    if (this.batches.get(batchId) === w) this.batches.delete(batchId);
    w.stop.abort();
  }

  private follow(batchId: string, w: Watched): void {
    this.client
      .withAbortSignal(w.stop.signal, () => this.read(batchId, w))
      // Temporal unreachable, or the poll stopped: the waiters time out and a later wait starts a new watch.
      .catch(() => undefined)
      .finally(() => this.forget(batchId, w));
  }

  /** Reads the batch's runs from the first event of the latest, until it ends or nobody waits. */
  private async read(batchId: string, w: Watched): Promise<void> {
    let runId: string | undefined;
    let nextPageToken: Uint8Array | undefined;
    while (!w.stop.signal.aborted) {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: batchWorkflowId(batchId), runId },
        nextPageToken,
        waitNewEvent: true,
        skipArchival: true,
      });
      let next: string | undefined;
      for (const e of page.history?.events ?? []) {
        const seen = endOf(e, w.finishes);
        if (seen === 'ended') return w.advance(++this.versions, true);
        if (seen) next = seen.nextRun;
        else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) w.advance(++this.versions, false);
      }
      if (next !== undefined) [runId, nextPageToken] = [next, undefined];
      else if (page.nextPageToken?.length) nextPageToken = page.nextPageToken;
      else return w.advance(++this.versions, true);
    }
  }
}

/** What one history event says: `ended`, the next run (continued as new), or nothing (undefined). */
function endOf(
  e: temporal.api.history.v1.IHistoryEvent,
  finishes: Set<string>,
): 'ended' | { nextRun: string } | undefined {
  if (isClose(e.eventType)) return 'ended';
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
    default:
      return undefined;
  }
}

const CLOSE_EVENTS = new Set([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
]);

/** Whether an event closes its run (continue-as-new aside). */
export function isClose(type: temporal.api.enums.v1.EventType | null | undefined): boolean {
  return type !== null && type !== undefined && CLOSE_EVENTS.has(type);
}
