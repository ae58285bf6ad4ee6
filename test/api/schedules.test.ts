/**
 * Recurring batches on Temporal Schedules, on a real dev server (the time-skipping test server has no
 * schedules): a day of hourly runs by backfill, overlap skip while a run's batch is still going, pause,
 * unpause, trigger and delete, tenant isolation, the refusals, and the real `temporal schedule` commands.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newApiKey } from '../../src/shared/apiKeys';
import { batchWorkflowId } from '../../src/shared/contracts';
import { BatchCreator } from '../../src/api/createBatch';
import { scheduledBatchCreator } from '../../src/api/schedules/run';
import { resolveTemporalCli } from '../../src/devServer/binary';
import { SearchAttributeKeys } from '../../src/shared/searchAttributes';
import { fileIn, runCli } from '../cli/cliRun';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';
import { call, jsonl, until, uploadForm, type CallOptions, type Json, type Reply } from '../helpers/tenants';

const A = newApiKey();
const B = newApiKey();
const TENANTS = [
  { id: 'tenant-a', keys: [A.digest] },
  { id: 'tenant-b', keys: [B.digest] },
];
const stack = useApiStack({ LLMBATCH_AUTH: 'keys', LLMBATCH_TENANTS: JSON.stringify(TENANTS) });

const req = (method: string, path: string, key: string, opts: Omit<CallOptions, 'authorization'> = {}) =>
  call(stack.base, method, path, { ...opts, authorization: `Bearer ${key}` });

function ok(r: Reply, status = 200): Json {
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.text}`);
  return r.body;
}

const cli = resolveTemporalCli();
/** The real `temporal` binary against this file's dev server; JSON output. */
async function temporal(...args: string[]): Promise<Json> {
  if (cli.type !== 'existing-path') throw new Error('no temporal CLI binary on this machine');
  const { stdout } = await promisify(execFile)(cli.path, [...args, '--address', stack.env.address, '-o', 'json'], {
    timeout: 30_000,
  });
  return stdout.trim() === '' ? null : JSON.parse(stdout);
}
const scheduleIds = async (): Promise<string[]> =>
  ((await temporal('schedule', 'list')) ?? []).map((s: Json) => s.scheduleId as string);

const files = {} as { a: string; b: string };

beforeAll(async () => {
  const upload = async (key: string) =>
    ok(await req('POST', '/v1/files', key, { body: uploadForm(jsonl(chatLines(2, 'file'))) })).id as string;
  files.a = await upload(A.key);
  files.b = await upload(B.key);
});

describe('POST /schedules refusals', () => {
  const HOURLY = { cron: '0 * * * *' };
  // fileId: A's file unless the case names another ('B': tenant B's; 'none': lines sent instead).
  const cases: [string, Json, RegExp][] = [
    ['a cron that is not one', { cron: 'every hour' }, /cron: expected 5 fields/],
    ['a cron field out of range', { cron: '61 * * * *' }, /cron: minute "61"/],
    ['an interval under a minute', { interval: '10s' }, /interval: at least 1m/],
    ['both cron and interval', { ...HOURLY, interval: '1h' }, /cron: give exactly one of cron and interval/],
    ['an unknown time zone', { ...HOURLY, timezone: 'Mars/Olympus' }, /timezone: Mars\/Olympus/],
    ['an unknown file', { ...HOURLY, fileId: 'file-000000000000000000000000' }, /fileId: No such File/],
    ["another tenant's file", { ...HOURLY, fileId: 'B' }, /fileId: No such File/],
    ['bad batch options', { ...HOURLY, batch: { options: { maxAttempts: 0 } } }, /batch\.options\.maxAttempts/],
    ['an unknown lane', { ...HOURLY, batch: { options: { lane: 'nope' } } }, /options\.lane: no lane named nope/],
    ['a bad line', { ...HOURLY, fileId: 'none', requests: [{ custom_id: 'x' }] }, /requests\.0\./],
  ];

  it.each(cases)('refuses %s with a 400 naming the field, and creates nothing', async (_what, body, message) => {
    const { fileId = 'A', ...rest } = body as { fileId?: string };
    const named = { A: files.a, B: files.b, none: undefined }[fileId] ?? fileId;
    const r = await req('POST', '/schedules', A.key, { json: { ...rest, ...(named ? { fileId: named } : {}) } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(message);
  });

  it('left no schedule behind, in the API or in Temporal, and stored no file', async () => {
    expect(ok(await req('GET', '/schedules', A.key)).data).toEqual([]);
    expect(await scheduleIds()).toEqual([]);
    expect(ok(await req('GET', '/v1/files', A.key)).data.map((f: Json) => f.id)).toEqual([files.a]);
  });
});

describe('an hourly schedule', () => {
  let id: string;

  it('is created from lines sent with it (stored as a file) and seen by temporal schedule list/describe', async () => {
    const created = ok(
      await req('POST', '/schedules', A.key, {
        json: {
          requests: chatLines(3, 'hourly'),
          cron: '0 * * * *',
          batch: { priority: 2 },
          note: 'nightly',
          catchupWindow: '2h',
        },
      }),
      201,
    );
    id = created.id;
    expect(created).toMatchObject({ cron: '0 * * * *', overlap: 'skip', paused: false, runs: 0, note: 'nightly' });
    expect(created).toMatchObject({ catchupWindowMs: 7_200_000, batch: { priority: 2 } });
    expect(new Date(created.nextRuns[0]).getUTCMinutes()).toBe(0);
    // The lines are a file of the tenant's, which the schedule refers to.
    expect(await req('GET', `/v1/files/${created.fileId}/content`, A.key).then((r) => r.text)).toBe(
      jsonl(chatLines(3, 'hourly')),
    );
    await until(scheduleIds, (ids) => ids.includes(id), 'temporal schedule list to show it');
    const described = await temporal('schedule', 'describe', '--schedule-id', id);
    expect(JSON.stringify(described)).toContain('scheduledBatchWorkflow');
    expect(JSON.stringify(described)).not.toContain('hourly-0'); // ids in the action, never the lines
  });

  it('starts 24 ordinary batches over a simulated day (a backfill), each linked to the schedule', async () => {
    const end = new Date();
    const start = new Date(end.getTime() - 24 * 3_600_000);
    const iso = (d: Date) => d.toISOString();
    // Backfilled runs keep their own policy: all at once, as a day of runs that did not overlap would.
    await temporal(
      'schedule',
      'backfill',
      '--schedule-id',
      id,
      '--start-time',
      iso(start),
      '--end-time',
      iso(end),
      '--overlap-policy',
      'AllowAll',
    );
    // Backfilled AllowAll runs are not tracked as running by Temporal: wait on the batches themselves.
    const scheduled = async () =>
      ok(await req('GET', '/batches?limit=100', A.key)).data.filter((b: Json) => b.scheduleId === id);
    const batches = await until(
      scheduled,
      (bs) => bs.length === 24 && bs.every((b: Json) => b.status === 'completed'),
      '24 batches to complete',
      90_000,
    );
    const view = ok(await req('GET', `/schedules/${id}`, A.key));
    expect(view.runs).toBe(24);
    expect(batches).toHaveLength(24);
    expect(batches.every((b: Json) => b.status === 'completed' && b.succeeded === 3 && b.priority === 2)).toBe(true);
    // One batch per hour of the day: the batch id leads with its run's nominal time.
    const hours = new Set(batches.map((b: Json) => b.id.slice(6, 18)));
    expect(hours.size).toBe(24);
    expect(view.recentRuns.every((r: Json) => batches.some((b: Json) => b.id === r.batchId))).toBe(true);
    const listed = [];
    const query = `${SearchAttributeKeys.scheduleId.name} = "${id}" AND WorkflowType = "batchWorkflow"`;
    for await (const wf of stack.env.client.workflow.list({ query })) listed.push(wf.workflowId);
    expect(listed.sort()).toEqual(batches.map((b: Json) => batchWorkflowId(b.id)).sort());
  }, 120_000);

  it("is another tenant's 404, and absent from its list", async () => {
    for (const [method, path] of [
      ['GET', `/schedules/${id}`],
      ['POST', `/schedules/${id}/pause`],
      ['POST', `/schedules/${id}/trigger`],
      ['DELETE', `/schedules/${id}`],
    ] as const)
      expect((await req(method, path, B.key)).status).toBe(404);
    expect(ok(await req('GET', '/schedules', B.key)).data).toEqual([]);
    expect(ok(await req('GET', '/schedules', A.key)).data.map((s: Json) => s.id)).toEqual([id]);
    expect(ok(await req('GET', `/schedules/${id}`, A.key)).paused).toBe(false);
  });

  it('is paused, unpaused and deleted through the API, as temporal schedule describe/list see', async () => {
    expect(ok(await req('POST', `/schedules/${id}/pause`, A.key, { json: { note: 'holiday' } }))).toMatchObject({
      paused: true,
      note: 'holiday',
    });
    expect((await temporal('schedule', 'describe', '--schedule-id', id)).schedule.state.paused).toBe(true);
    expect(ok(await req('POST', `/schedules/${id}/unpause`, A.key)).paused).toBe(false);
    expect((await temporal('schedule', 'describe', '--schedule-id', id)).schedule.state.paused).toBeFalsy();
    expect(ok(await req('DELETE', `/schedules/${id}`, A.key))).toEqual({ id, deleted: true });
    expect((await req('GET', `/schedules/${id}`, A.key)).status).toBe(404);
    await until(scheduleIds, (ids) => !ids.includes(id), 'temporal schedule list to drop it');
  });
});

describe('overlap', () => {
  afterAll(() => stack.sim.configure({ latencyMedianMs: 0 }));

  it("skips a run triggered while the last run's batch is still going, and runs one after it ended", async () => {
    const schedule = ok(await req('POST', '/schedules', A.key, { json: { fileId: files.a, interval: '1h' } }), 201);
    const path = `/schedules/${schedule.id}`;
    stack.sim.configure({ latencyMedianMs: 4000 });
    ok(await req('POST', `${path}/trigger`, A.key), 202);
    const first = await until(
      async () => ok(await req('GET', path, A.key)),
      (s) => s.runningBatches.length === 1,
      'the first run',
    );
    const batchId = first.runningBatches[0];
    const batch = await until(
      () => req('GET', `/batches/${batchId}`, A.key),
      (r) => r.status === 200,
      "the run's batch",
    );
    expect(batch.body).toMatchObject({
      status: 'running',
      scheduleId: schedule.id,
    });
    ok(await req('POST', `${path}/trigger`, A.key), 202);
    const skipped = await until(
      async () => ok(await req('GET', path, A.key)),
      (s) => s.skippedOverlaps === 1,
      'the second trigger to be skipped',
    );
    expect(skipped).toMatchObject({ runs: 1, runningBatches: [batchId] });
    expect(ok(await req('GET', `/batches/${batchId}`, A.key)).status).toBe('running');

    stack.sim.configure({ latencyMedianMs: 0 });
    await until(
      async () => ok(await req('GET', path, A.key)),
      (s) => s.runningBatches.length === 0,
      'the first run to end',
    );
    ok(await req('POST', `${path}/trigger`, A.key), 202);
    const after = await until(
      async () => ok(await req('GET', path, A.key)),
      (s) => s.runs === 2 && s.runningBatches.length === 0,
      'a run after the first ended',
    );
    expect(after.skippedOverlaps).toBe(1);
    expect(new Set(after.recentRuns.map((r: Json) => r.batchId)).size).toBe(2);
    ok(await req('DELETE', path, A.key));
  }, 60_000);
});

describe("a run's batch", () => {
  it('is created once however a run retries: its id comes from the run, which is its Idempotency-Key', async () => {
    const { client } = stack.env;
    const { store, files: fileStore, slots } = stack.storage;
    const create = scheduledBatchCreator({
      creator: new BatchCreator({ client, store, config: stack.config, slots }),
      files: fileStore,
      config: stack.config,
    });
    const run = {
      scheduleId: 'sched_000000000000000000000001',
      tenant: 'tenant-a',
      fileId: files.a,
      batch: {},
      runWorkflowId: 'schedule-run-sched_000000000000000000000001-2026-01-01T03:00:00Z',
    };
    const first = await create(run);
    const again = await create(run);
    expect(first).toMatchObject({ ok: true, total: 2 });
    expect(again).toEqual(first);
    if (!first.ok) throw new Error('refused');
    expect(first.batchId.slice(6, 18)).toBe(Date.parse('2026-01-01T03:00:00Z').toString(16).padStart(12, '0'));
    const owned = ok(await req('GET', '/batches?limit=100', A.key)).data.filter(
      (b: Json) => b.scheduleId === run.scheduleId,
    );
    expect(owned.map((b: Json) => b.id)).toEqual([first.batchId]);
    // A file gone since is the run's refusal, named, not a retry.
    expect(
      await create({ ...run, fileId: 'file-000000000000000000000000', runWorkflowId: `${run.runWorkflowId}x` }),
    ).toMatchObject({
      ok: false,
      code: 'file_not_found',
    });
  });
});

describe('llmbatch schedule (the CLI, over HTTP)', () => {
  it('creates from a local JSONL file, lists, unpauses and deletes; a usage mistake exits 2', async () => {
    const cli = (...args: string[]) => runCli(['schedule', ...args], stack.base, A.key);
    const file = await fileIn(await mkdtemp(join(tmpdir(), 'sched-cli-')), 'nightly.jsonl', jsonl(chatLines(2, 'cli')));
    const made = await cli('create', file, '--cron', '0 2 * * *', '--timezone', 'Europe/Berlin', '--paused');
    expect(made).toMatchObject({ code: 0 });
    const id = /^(sched_[0-9a-f]{24}) {2}0 2 \* \* \* \(Europe\/Berlin\) {2}paused/.exec(made.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await cli('list')).stdout).toContain(`${id}  0 2 * * * (Europe/Berlin)  paused  runs 0`);
    expect((await cli('unpause', id!)).stdout).toMatch(new RegExp(`^${id}  .* next 20`));
    expect(await cli('delete', id!)).toMatchObject({ code: 0 });
    expect((await req('GET', `/schedules/${id}`, A.key)).status).toBe(404);
    const mistake = await cli('create', file);
    expect(mistake.code).toBe(2);
    expect(mistake.stderr).toContain('give one of --cron and --every');
  }, 60_000);
});
