/**
 * Recurring batches on Temporal Schedules. Every route acts on the caller's tenant's schedules only; another
 * tenant's schedule is a 404, as is one that does not exist. The schedules are Temporal's own
 * (`temporal schedule list/describe/backfill` see and steer them); each run is an ordinary batch (create.ts, run.ts).
 *   POST   /schedules                 {fileId | requests, batch?, cron | interval, timezone?, overlap?,
 *                                     catchupWindow?, paused?, note?} → 201 the schedule
 *   GET    /schedules                 the tenant's schedules
 *   GET    /schedules/:id             one, with its next and latest runs and their batches
 *   POST   /schedules/:id/pause       {note?}
 *   POST   /schedules/:id/unpause     {note?}
 *   POST   /schedules/:id/trigger     a run now, under the schedule's overlap policy (skip: none while one goes)
 *   DELETE /schedules/:id             no more runs; a run's batch still going goes on
 */
import { ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { SCHEDULE_ID, type ScheduleListView } from '../../shared/schedules';
import { tenantOf } from '../auth';
import { HttpError } from '../httpError';
import { parseBody } from '../validation';
import { createSchedule, type SchedulesDeps } from './create';
import { scheduleView, tenantOfSchedule } from './view';

export const ScheduleNoteSchema = z.strictObject({ note: z.string().max(500).optional() });

const notFound = (id: string) => new HttpError(404, `schedule ${id} not found`, undefined, 'not_found');

/** The caller's schedule `id` and its description; another tenant's is as absent as a missing one. */
async function owned(deps: SchedulesDeps, res: Response, id: string) {
  if (!SCHEDULE_ID.test(id)) throw notFound(id);
  const handle = deps.client.schedule.getHandle(id);
  let described: ScheduleDescription;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(id);
    throw err;
  }
  if (tenantOfSchedule(described) !== tenantOf(res).id) throw notFound(id);
  return { handle, described };
}

export function schedulesRouter(deps: SchedulesDeps): Router {
  const router = Router();

  router.post('/schedules', async (req, res) => {
    const id = await createSchedule(deps, tenantOf(res), req.body);
    res.status(201).json(scheduleView((await owned(deps, res, id)).described));
  });

  router.get('/schedules', async (_req, res) => {
    const tenant = tenantOf(res).id;
    const answer: ScheduleListView = { data: [] };
    for await (const summary of deps.client.schedule.list()) {
      if (summary.memo?.tenant !== tenant || !SCHEDULE_ID.test(summary.scheduleId)) continue;
      // Listed but deleted since: left out.
      const found = await owned(deps, res, summary.scheduleId).catch(() => undefined);
      if (found) answer.data.push(scheduleView(found.described));
    }
    answer.data.sort((a, b) => b.id.localeCompare(a.id)); // newest first: ids lead with their creation time
    res.json(answer);
  });

  router.get('/schedules/:id', async (req, res) => {
    res.json(scheduleView((await owned(deps, res, req.params.id)).described));
  });

  const stateRoute = (action: 'pause' | 'unpause') =>
    router.post(`/schedules/:id/${action}`, async (req, res) => {
      const { note } = parseBody(ScheduleNoteSchema, req.body ?? {}, action);
      const { handle } = await owned(deps, res, req.params.id);
      await handle[action](note ?? `${action}d through the llmbatch API`);
      res.json(scheduleView(await handle.describe()));
    });
  stateRoute('pause');
  stateRoute('unpause');

  router.post('/schedules/:id/trigger', async (req, res) => {
    const { handle, described } = await owned(deps, res, req.params.id);
    // The SDK's default is ALLOW_ALL: a trigger keeps to the schedule's own policy instead.
    await handle.trigger(described.policies.overlap);
    res.status(202).json({ id: req.params.id, triggered: true });
  });

  router.delete('/schedules/:id', async (req, res) => {
    const { handle } = await owned(deps, res, req.params.id);
    await handle.delete();
    res.json({ id: req.params.id, deleted: true });
  });

  return router;
}
