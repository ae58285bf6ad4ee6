/**
 * POST /schedules: everything a run would check is checked first (the spec, the options, the input file and each
 * of its lines, as BatchCreator checks a batch), so a bad request is a 400 naming the field and no schedule. Lines
 * sent with the request are stored as a /v1 file of the tenant's; the schedule's runs refer to it by id.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { Config, Tenant } from '../../config';
import { isTimeZone } from '../../shared/runWindow';
import { SearchAttributeKeys } from '../../shared/searchAttributes';
import {
  CreateScheduleRequestSchema,
  scheduleRunWorkflowId,
  type CreateScheduleRequest,
  type Overlap,
  type ScheduledBatchInput,
} from '../../shared/schedules';
import type { FileStore } from '../../storage/files';
import type { BatchCreator } from '../createBatch';
import { HttpError } from '../httpError';
import { newFileId, newScheduleId } from '../ids';
import { searchAttributesRegistered } from '../searchAttributes';
import { parseBody } from '../validation';
// Types only: the API names a workflow by its exported name and never loads workflow code.
import type * as workflows from '../../workflows';
import { cronProblem } from './cron';
import { scheduledBatch } from './run';

export interface SchedulesDeps {
  client: Client;
  files: FileStore;
  config: Config;
  creator: BatchCreator;
}

/** What the schedule keeps beside its action, for the API's views (Temporal compiles cron into calendars). */
export interface ScheduleMemo {
  tenant: string;
  cron: string | null;
  intervalMs: number | null;
  timezone: string | null;
}

export const OVERLAP_POLICIES: Record<Overlap, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  bufferOne: ScheduleOverlapPolicy.BUFFER_ONE,
  bufferAll: ScheduleOverlapPolicy.BUFFER_ALL,
  allowAll: ScheduleOverlapPolicy.ALLOW_ALL,
};

const refuse = (field: string, reason: string, code: string): never => {
  throw new HttpError(400, `invalid schedule: ${field}: ${reason}`, { field }, code);
};

function checkSpec(request: CreateScheduleRequest): void {
  const problem = request.cron === undefined ? undefined : cronProblem(request.cron);
  if (problem) refuse('cron', problem, 'invalid_cron');
  if (request.timezone !== undefined && !isTimeZone(request.timezone))
    refuse('timezone', `${request.timezone} is not an IANA time zone`, 'invalid_timezone');
}

/** The lines sent with the request, as the JSONL file the schedule refers to. */
async function storeLines(files: FileStore, tenant: string, scheduleId: string, request: CreateScheduleRequest) {
  const text = (request.requests ?? []).map((line) => JSON.stringify(line)).join('\n') + '\n';
  const staged = await files.stage(
    (async function* () {
      yield Buffer.from(text);
    })(),
  );
  const meta = { id: newFileId(), createdAt: Date.now(), filename: `${scheduleId}.jsonl`, purpose: 'batch', tenant };
  return staged.commit(meta);
}

/** Creates the tenant's schedule; returns its id. */
export async function createSchedule(deps: SchedulesDeps, tenant: Tenant, body: unknown): Promise<string> {
  const { client, files, config, creator } = deps;
  const request = parseBody(CreateScheduleRequestSchema, body, 'schedule');
  checkSpec(request);
  const scheduleId = newScheduleId();
  const batch = request.batch ?? {};
  const planned = scheduledBatch(deps, tenant, { scheduleId, fileId: request.fileId ?? '', batch });
  // Lines sent with the request are checked as sent (a copy: the checks fill in the default model) and named as in a
  // JSON array (`requests.2`); a file's, as a run will read them. Nothing is stored, so the batch id is no matter.
  const sent = request.requests?.map((line, at) => ({ at, request: structuredClone(line) }));
  const lines = sent ? { lines: sent, position: 'index' as const } : {};
  await creator.check({ ...planned, ...lines, batchId: '', nowMs: Date.now() });
  const stored = request.requests ? await storeLines(files, tenant.id, scheduleId, request) : undefined;
  const input: ScheduledBatchInput = { scheduleId, tenant: tenant.id, fileId: stored?.id ?? request.fileId!, batch };
  try {
    await startSchedule(client, config, request, input);
  } catch (err) {
    if (stored) await files.delete(stored.id).catch(() => undefined);
    throw err;
  }
  return scheduleId;
}

async function startSchedule(
  client: Client,
  config: Config,
  request: CreateScheduleRequest,
  input: ScheduledBatchInput,
) {
  const { scheduleId, tenant } = input;
  const memo: ScheduleMemo = {
    tenant,
    cron: request.cron ?? null,
    intervalMs: request.interval ?? null,
    timezone: request.timezone ?? null,
  };
  const attributes: SearchAttributePair[] = [
    { key: SearchAttributeKeys.tenant, value: tenant },
    { key: SearchAttributeKeys.scheduleId, value: scheduleId },
  ];
  await client.schedule.create({
    scheduleId,
    spec: {
      ...(request.cron === undefined ? {} : { cronExpressions: [request.cron] }),
      ...(request.interval === undefined ? {} : { intervals: [{ every: request.interval }] }),
      timezone: request.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledBatchWorkflow' satisfies keyof typeof workflows,
      workflowId: scheduleRunWorkflowId(scheduleId),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      staticSummary: `schedule ${scheduleId} · tenant ${tenant}`,
      ...((await searchAttributesRegistered(client)) ? { typedSearchAttributes: attributes } : {}),
    },
    policies: { overlap: OVERLAP_POLICIES[request.overlap], catchupWindow: request.catchupWindow },
    state: { paused: request.paused, note: request.note },
    memo: { ...memo },
  });
}
