/**
 * `llmbatch schedule ...`: recurring batches (POST /schedules and the routes after it), over HTTP like every
 * other command. A local JSONL file is sent as the schedule's `requests` (the API stores it as a file of the
 * tenant's); an argument `file-…` names a `/v1` file already uploaded.
 */
import { readFile } from 'node:fs/promises';
import type { ScheduleListView, ScheduleView } from '../shared/schedules';
import type { ApiClient } from './apiClient';

export const SCHEDULE_USAGE = `  schedule create <file.jsonl | file-id> (--cron "0 2 * * *" | --every 1h)
         [--timezone tz] [--overlap skip|bufferOne|bufferAll|allowAll] [--priority 1-5] [--model m]
         [--mode m] [--paused]
                    each run is an ordinary batch of the file's requests
  schedule list | show <id> | pause <id> | unpause <id> | trigger <id> | delete <id>`;

export interface ScheduleFlags {
  cron?: string;
  every?: string;
  timezone?: string;
  overlap?: string;
  priority?: string;
  model?: string;
  mode?: string;
  paused?: boolean;
  note?: string;
}

/** A usage mistake: printed with the usage, exit code 2. */
export class ScheduleUsageError extends Error {}

/** The requests of a local JSONL file (the API checks each line and names the bad one). */
async function requestsOf(file: string): Promise<unknown[]> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  return lines.flatMap((text, i) => {
    if (text.trim() === '') return [];
    try {
      return [JSON.parse(text) as unknown];
    } catch {
      throw new ScheduleUsageError(`${file}: line ${i + 1} is not JSON`);
    }
  });
}

function describe(s: ScheduleView): string {
  const when = s.cron ?? `every ${(s.intervalMs ?? 0) / 60_000} min`;
  const next = s.paused ? 'paused' : `next ${s.nextRuns[0] ?? 'none'}`;
  const zone = s.timezone ? ` (${s.timezone})` : '';
  return `${s.id}  ${when}${zone}  ${next}  runs ${s.runs}, skipped ${s.skippedOverlaps}`;
}

async function create(client: ApiClient, input: string | undefined, flags: ScheduleFlags): Promise<number> {
  if (!input) throw new ScheduleUsageError('schedule create: give the JSONL file or the /v1 file id');
  if ((flags.cron === undefined) === (flags.every === undefined))
    throw new ScheduleUsageError('schedule create: give one of --cron and --every');
  const priority = flags.priority === undefined ? undefined : Number(flags.priority);
  const batch = {
    ...(flags.model ? { model: flags.model } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(flags.mode ? { options: { mode: flags.mode } } : {}),
  };
  const source = /^file-/.test(input) ? { fileId: input } : { requests: await requestsOf(input) };
  const schedule = await client.json<ScheduleView>('POST', '/schedules', {
    ...source,
    ...(flags.cron !== undefined ? { cron: flags.cron } : { interval: flags.every }),
    ...(flags.timezone ? { timezone: flags.timezone } : {}),
    ...(flags.overlap ? { overlap: flags.overlap } : {}),
    ...(flags.paused ? { paused: true } : {}),
    batch,
  });
  console.log(describe(schedule));
  return 0;
}

export async function scheduleCommand(client: ApiClient, [sub, arg]: string[], flags: ScheduleFlags): Promise<number> {
  const path = (action = '') => {
    if (!arg) throw new ScheduleUsageError(`schedule ${sub ?? ''}: give the schedule id`);
    return `/schedules/${encodeURIComponent(arg)}${action}`;
  };
  switch (sub) {
    case 'create':
      return create(client, arg, flags);
    case 'list': {
      const { data } = await client.json<ScheduleListView>('GET', '/schedules');
      for (const s of data) console.log(describe(s));
      return 0;
    }
    case 'show':
      console.log(JSON.stringify(await client.json<ScheduleView>('GET', path()), null, 2));
      return 0;
    case 'pause':
    case 'unpause':
      console.log(describe(await client.json<ScheduleView>('POST', path(`/${sub}`), { note: flags.note })));
      return 0;
    case 'trigger':
      await client.json('POST', path('/trigger'), {});
      console.log(`${arg}: a run was asked for (the overlap policy decides whether it starts)`);
      return 0;
    case 'delete':
      await client.json('DELETE', path());
      console.log(`${arg}: deleted (a run's batch still going goes on)`);
      return 0;
    default:
      throw new ScheduleUsageError(`schedule: unknown subcommand ${sub ?? '(none)'}`);
  }
}
