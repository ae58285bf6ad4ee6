/**
 * Where a batch's time went, read from its Temporal workflow history (no engine
 * instrumentation needed): when each chunk activity was scheduled, started and
 * closed, and when the workflow started and closed.
 */
import { Client, Connection } from '@temporalio/client';

interface Span {
  name: string;
  scheduled: number;
  started?: number;
  closed?: number;
}

export interface Timeline {
  workflowStarted: number;
  workflowClosed: number;
  /** processChunk activities (last attempt), ordered by start. */
  chunks: Required<Span>[];
  /** Other activities (finishBatch). */
  others: Span[];
}

type LongLike = number | string | { toString(): string } | null | undefined;
interface Stamp {
  seconds?: LongLike;
  nanos?: number | null;
}
interface Ref {
  scheduledEventId?: LongLike;
}
interface HistoryEventLike {
  eventId?: LongLike;
  eventTime?: Stamp | null;
  workflowExecutionStartedEventAttributes?: { continuedExecutionRunId?: string | null } | null;
  workflowExecutionCompletedEventAttributes?: unknown;
  workflowExecutionFailedEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: Ref | null;
  activityTaskCompletedEventAttributes?: Ref | null;
  activityTaskFailedEventAttributes?: Ref | null;
  activityTaskCanceledEventAttributes?: Ref | null;
  activityTaskTimedOutEventAttributes?: Ref | null;
}

const num = (v: LongLike): number => (typeof v === 'number' ? v : Number(v?.toString() ?? NaN));
const ms = (t: Stamp | null | undefined): number => num(t?.seconds) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Reads every run of the batch's workflow: a long batch continues-as-new, and each run has its own history. */
async function fetchEvents(client: Client, workflowId: string): Promise<HistoryEventLike[]> {
  const runs: HistoryEventLike[][] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = (history.events ?? []) as HistoryEventLike[];
    runs.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs.flat();
  }
}

export async function fetchTimeline(address: string, batchId: string): Promise<Timeline> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    // The API reports a batch ended once its outcome is stored, a moment before the workflow closes.
    await client.workflow
      .getHandle(`batch-${batchId}`)
      .result()
      .catch(() => undefined);
    const events = await fetchEvents(client, `batch-${batchId}`);
    // Event ids restart in each run: key spans by run and id.
    const spans = new Map<string, Span>();
    let run = 0;
    let workflowStarted = NaN;
    let workflowClosed = NaN;
    for (const e of events) {
      const t = ms(e.eventTime);
      if (e.workflowExecutionStartedEventAttributes) {
        run += 1;
        if (Number.isNaN(workflowStarted)) workflowStarted = t;
      }
      if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) workflowClosed = t;
      const key = (id: LongLike): string => `${run}:${num(id)}`;
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched) spans.set(key(e.eventId), { name: sched.activityType?.name ?? '?', scheduled: t });
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const s = spans.get(key(started.scheduledEventId));
        if (s) s.started = t;
      }
      const closed =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskCanceledEventAttributes ??
        e.activityTaskTimedOutEventAttributes;
      if (closed) {
        const s = spans.get(key(closed.scheduledEventId));
        if (s) s.closed = t;
      }
    }
    const all = [...spans.values()];
    const chunks = all
      .filter(
        (s): s is Required<Span> => s.name === 'processChunk' && s.started !== undefined && s.closed !== undefined,
      )
      .sort((a, b) => a.started - b.started);
    return { workflowStarted, workflowClosed, chunks, others: all.filter((s) => s.name !== 'processChunk') };
  } finally {
    await connection.close();
  }
}

export interface EngineTimes {
  /** POST sent → first chunk activity started. */
  firstChunkMs: number;
  /** Mean gaps from a chunk closing to the next being scheduled (a workflow task), and scheduled to started. */
  refillScheduleMs: number;
  refillDispatchMs: number;
  meanChunkMs: number;
  /** Last chunk closed → a poll saw the batch ended (finishBatch stores the outcome the API reads). */
  endSeenMs: number;
}

/** The engine's own milestones in a run, from the history; `run` times are the bench's (same host clock). */
export function engineTimes(
  tl: Timeline,
  run: { epochStart: number; doneMs: number },
  maxChunksInFlight: number,
): EngineTimes {
  const { chunks } = tl;
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  // The j-th chunk to close frees the window slot that the (window + j)-th chunk to start takes.
  const closes = chunks.map((c) => c.closed).sort((a, b) => a - b);
  const refills = chunks.slice(maxChunksInFlight).map((c, j) => ({ c, freed: closes[j] ?? c.scheduled }));
  const lastClose = Math.max(...closes);
  return {
    firstChunkMs: Math.min(...chunks.map((c) => c.started)) - run.epochStart,
    refillScheduleMs: mean(refills.map(({ c, freed }) => c.scheduled - freed)),
    refillDispatchMs: mean(refills.map(({ c }) => c.started - c.scheduled)),
    meanChunkMs: mean(chunks.map((c) => c.closed - c.started)),
    endSeenMs: run.epochStart + run.doneMs - lastClose,
  };
}
