/**
 * The route table's entries for recurring batches (`/schedules`, src/api/schedules/), with their answers' schemas,
 * checked against the TypeScript types at compile time (`ScheduleTypeChecks`).
 */
import { z } from 'zod';
import {
  CreateScheduleRequestSchema,
  OverlapSchema,
  ScheduledBatchOptionsSchema,
  type ScheduleListView,
  type ScheduleView,
} from '../../shared/schedules';
import { ScheduleNoteSchema } from '../schedules';
import { apiError, json, jsonBody, type RouteDoc } from './routeDoc';
import type { Equal, Expect } from './typeChecks';

const date = z.string().meta({ format: 'date-time' });

export const ScheduleViewSchema = z
  .object({
    id: z.string().meta({ description: 'The schedule id (`sched_<24 hex>`), also its Temporal Schedule id.' }),
    fileId: z.string().meta({ description: 'The `/v1` file (purpose `batch`) each run reads.' }),
    batch: ScheduledBatchOptionsSchema,
    cron: z.string().nullable(),
    intervalMs: z.number().nullable().meta({ description: 'Milliseconds between runs (an `interval` schedule).' }),
    timezone: z.string().nullable(),
    overlap: OverlapSchema,
    catchupWindowMs: z.number().nullable(),
    paused: z.boolean(),
    note: z.string().nullable(),
    createdAt: date.nullable(),
    nextRuns: z.array(date).meta({ description: 'The next nominal run times (up to 5).' }),
    recentRuns: z
      .array(z.object({ scheduledAt: date, startedAt: date, batchId: z.string().nullable() }))
      .meta({ description: 'The latest runs (Temporal keeps ten) and the batch each created.' }),
    runs: z.number().int().meta({ description: 'Runs started.' }),
    skippedOverlaps: z.number().int().meta({ description: 'Runs skipped because one was still going.' }),
    runningBatches: z.array(z.string()).meta({ description: 'The batches of runs still going.' }),
  })
  .meta({ id: 'Schedule' });

const ScheduleListSchema = z.object({ data: z.array(ScheduleViewSchema) });
const TriggeredSchema = z.object({ id: z.string(), triggered: z.literal(true) });
const DeletedSchema = z.object({ id: z.string(), deleted: z.literal(true) });

export type ScheduleTypeChecks = [
  Expect<Equal<z.infer<typeof ScheduleViewSchema>, ScheduleView>>,
  Expect<Equal<z.infer<typeof ScheduleListSchema>, ScheduleListView>>,
];

const ScheduleIdPath = z.object({
  schedule_id: z.string().meta({ description: 'A schedule id (`sched_<24 hex>`), as `POST /schedules` answered.' }),
});
const notFound = apiError('No such schedule (or not yours).');

const idRoute = (
  method: 'get' | 'post' | 'delete',
  suffix: string,
  operationId: string,
  summary: string,
  answer: z.ZodType,
  status: '200' | '202' = '200',
): RouteDoc => ({
  method,
  path: `/schedules/{schedule_id}${suffix}`,
  operationId,
  summary,
  tags: ['schedules'],
  params: { path: ScheduleIdPath },
  ...(suffix === '/pause' || suffix === '/unpause'
    ? { body: { ...jsonBody(ScheduleNoteSchema, 'An optional note, shown with the schedule.'), required: false } }
    : {}),
  responses: { [status]: json(answer, summary), '404': notFound },
});

export const SCHEDULE_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/schedules',
    operationId: 'createSchedule',
    summary: 'Create a recurring batch on a Temporal Schedule',
    description:
      'Each run is an ordinary batch (its `scheduleId` in `GET /batches/{batch_id}`, search attribute ' +
      '`LlmbatchScheduleId`) made from a stored `/v1` file (`fileId`) or from the `requests` given here, which are ' +
      'stored as a file of the tenant. `cron` or `interval`; `overlap` is `skip` by default: no run starts while ' +
      "the last one's batch is going. Everything a run would check is checked first: 400 naming the field, and no " +
      'schedule.',
    tags: ['schedules'],
    body: jsonBody(CreateScheduleRequestSchema.meta({ id: 'CreateScheduleRequest' })),
    responses: {
      '201': json(ScheduleViewSchema, 'Created.'),
      '400': apiError('Invalid schedule: the message names the field (`cron`, `fileId`, `batch.options.…`, a line).'),
    },
  },
  {
    method: 'get',
    path: '/schedules',
    operationId: 'listSchedules',
    summary: "The tenant's schedules, newest first",
    tags: ['schedules'],
    responses: { '200': json(ScheduleListSchema, "The tenant's schedules.") },
  },
  idRoute('get', '', 'getSchedule', 'A schedule, its next and latest runs', ScheduleViewSchema),
  idRoute('post', '/pause', 'pauseSchedule', 'Pause: no runs until unpaused', ScheduleViewSchema),
  idRoute('post', '/unpause', 'unpauseSchedule', 'Unpause', ScheduleViewSchema),
  idRoute('post', '/trigger', 'triggerSchedule', 'A run now, under the overlap policy', TriggeredSchema, '202'),
  idRoute('delete', '', 'deleteSchedule', "Delete: no more runs (a run's batch goes on)", DeletedSchema),
];
