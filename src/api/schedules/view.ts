/** A Temporal Schedule's description as the API shows it (ScheduleView), with the batch each run created. */
import type { ScheduleDescription } from '@temporalio/client';
import type { Overlap, ScheduledBatchInput, ScheduleView } from '../../shared/schedules';
import { scheduledBatchId } from '../ids';
import { OVERLAP_POLICIES, type ScheduleMemo } from './create';

const overlapOf = (policy: ScheduleDescription['policies']['overlap']): Overlap =>
  (Object.entries(OVERLAP_POLICIES).find(([, p]) => p === policy)?.[0] as Overlap | undefined) ?? 'skip';

/** Written by createSchedule; a schedule someone else made may lack any of it. */
const memoOf = (described: ScheduleDescription): Partial<ScheduleMemo> => described.memo ?? {};

/** The tenant a schedule belongs to (its memo), or undefined for one llmbatch did not create. */
export const tenantOfSchedule = (described: ScheduleDescription): string | undefined => memoOf(described).tenant;

export function scheduleView(described: ScheduleDescription): ScheduleView {
  const input = described.action.args?.[0] as ScheduledBatchInput;
  const memo = memoOf(described);
  const { info, state, policies } = described;
  return {
    id: described.scheduleId,
    fileId: input.fileId,
    batch: input.batch,
    cron: memo.cron ?? null,
    intervalMs: memo.intervalMs ?? null,
    timezone: memo.timezone ?? null,
    overlap: overlapOf(policies.overlap),
    catchupWindowMs: policies.catchupWindow,
    paused: state.paused,
    note: state.note ?? null,
    createdAt: info.createdAt.toISOString(),
    nextRuns: info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentRuns: info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      batchId: scheduledBatchId(a.action.workflow.workflowId),
    })),
    runs: info.numActionsTaken,
    skippedOverlaps: info.numActionsSkippedOverlap,
    runningBatches: info.runningActions.map((a) => scheduledBatchId(a.workflow.workflowId)),
  };
}
