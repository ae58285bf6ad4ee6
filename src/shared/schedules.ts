/**
 * Recurring batches on Temporal Schedules: what POST /schedules takes, what a scheduled run's workflow starts
 * from (ids only: the input is a stored file, never a body in history), and what the API answers.
 */
import { z } from 'zod';
import { BatchLineSchema, BatchOptionsSchema, LIMITS, PrioritySchema } from './contracts';

/** `sched_<24 hex>`: the llmbatch schedule id, which is also the Temporal Schedule's id. */
export const SCHEDULE_ID = /^sched_[0-9a-f]{24}$/;

/** Each run's workflow id is this plus the run's nominal time (Temporal appends it). */
export const scheduleRunWorkflowId = (scheduleId: string): string => `schedule-run-${scheduleId}`;

/** How often: `30s`, `15m`, `1h`, `1d` (plain units, one of them). At least a minute. */
export const IntervalSchema = z
  .string()
  .regex(/^\d{1,6}(s|m|h|d)$/, 'expected a duration such as 15m, 1h or 1d')
  .transform((v) => Number(v.slice(0, -1)) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[v.slice(-1)]!)
  .pipe(z.number().min(60_000, 'at least 1m'));

/**
 * What a run does when the one before is still going: `skip` it (the default), `bufferOne` (run it after,
 * at most one waiting), `bufferAll` (run each after), `allowAll` (run at once, side by side).
 */
export const OverlapSchema = z.enum(['skip', 'bufferOne', 'bufferAll', 'allowAll']);
export type Overlap = z.infer<typeof OverlapSchema>;

/** The batch each run creates: the same options as POST /batches (its lines come from the stored file). */
export const ScheduledBatchOptionsSchema = z.strictObject({
  model: z.string().min(1).optional(),
  priority: PrioritySchema.optional(),
  options: BatchOptionsSchema.omit({ notBefore: true, deadline: true }).optional(),
});
export type ScheduledBatchOptions = z.infer<typeof ScheduledBatchOptionsSchema>;

export const CreateScheduleRequestSchema = z
  .strictObject({
    /** A `/v1` file (purpose `batch`) of the caller's: each run reads it as it is then. */
    fileId: z.string().min(1).max(200).optional(),
    /** Or the lines themselves, stored as a `/v1` file of the caller's that the schedule refers to. */
    requests: z.array(BatchLineSchema).min(1).max(LIMITS.maxItemsPerBatch).optional(),
    batch: ScheduledBatchOptionsSchema.optional(),
    /** Standard five-field cron (`0 * * * *`), or @hourly, @daily, @weekly, @monthly, @yearly. */
    cron: z.string().min(1).max(200).optional(),
    interval: IntervalSchema.optional(),
    /** The IANA time zone cron times are in (default UTC). */
    timezone: z.string().min(1).max(100).optional(),
    overlap: OverlapSchema.default('skip'),
    /** How late a run missed while Temporal was down may still start (default: Temporal's, a year). */
    catchupWindow: IntervalSchema.optional(),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
  })
  .refine((r) => (r.fileId === undefined) !== (r.requests === undefined), {
    message: 'give exactly one of fileId and requests',
    path: ['fileId'],
  })
  .refine((r) => (r.cron === undefined) !== (r.interval === undefined), {
    message: 'give exactly one of cron and interval',
    path: ['cron'],
  });
export type CreateScheduleRequest = z.infer<typeof CreateScheduleRequestSchema>;

/** What a run's workflow starts from: ids and options only. */
export interface ScheduledBatchInput {
  scheduleId: string;
  tenant: string;
  fileId: string;
  batch: ScheduledBatchOptions;
}

/** What a run's activity needs besides: its workflow id, from which the batch id is derived. */
export interface ScheduledRunInput extends ScheduledBatchInput {
  runWorkflowId: string;
}

export interface ScheduledRunResult {
  batchId: string;
  total: number;
  /** The batch workflow's end: COMPLETED, FAILED, CANCELLED, TERMINATED...; NEVER_STARTED when it has none. */
  ended: string;
}

export interface ScheduleView {
  id: string;
  fileId: string;
  batch: ScheduledBatchOptions;
  cron: string | null;
  /** Milliseconds between runs. */
  intervalMs: number | null;
  timezone: string | null;
  overlap: Overlap;
  catchupWindowMs: number | null;
  paused: boolean;
  note: string | null;
  createdAt: string | null;
  /** The next nominal run times (up to 5). */
  nextRuns: string[];
  /** The latest runs (Temporal keeps ten): when, and the batch each one created. */
  recentRuns: Array<{ scheduledAt: string; startedAt: string; batchId: string | null }>;
  /** Runs the schedule has started, and runs it skipped because one was still going. */
  runs: number;
  skippedOverlaps: number;
  /** Run batches that are still going. */
  runningBatches: string[];
}

export interface ScheduleListView {
  data: ScheduleView[];
}

/** A run's batch, or why it was refused (the input file deleted, the tenant's quota full, a line now invalid). */
export type ScheduledRunOutcome =
  { ok: true; batchId: string; total: number } | { ok: false; code: string; reason: string };

/** Creates a run's batch; the worker injects the API's (one way of creating a batch) into the run's activity. */
export type CreateScheduledBatch = (run: ScheduledRunInput) => Promise<ScheduledRunOutcome>;
