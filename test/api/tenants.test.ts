/**
 * Tenants, on a real dev server, worker and simulator in keys mode. The acceptance: cross-tenant
 * access to every route is a 404, a missing or wrong key a 401. Also: lists show the caller's own only,
 * PUT /lanes/limits needs an admin, the quotas, and the workflow carrying the tenant (the fairness key)
 * but never a key.
 *
 * Routes come from ROUTES (the OpenAPI table), never from a list here: a route added there that this file
 * cannot exercise (an id it has no resource for, a body it has no example of, a route without an id it has
 * no check for) fails it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { APIError, toFile } from 'openai';
import { newApiKey } from '../../src/shared/apiKeys';
import { ROUTES, type RouteDoc } from '../../src/api/openapi';
import { ConfigError, loadConfig } from '../../src/config';
import { batchWorkflowId, type BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';
import {
  call,
  fillPath,
  ghostOf,
  historyText,
  jsonl,
  pathParams,
  routeKey,
  until,
  uploadForm,
  type CallOptions,
  type Json,
  type Reply,
} from '../helpers/tenants';

const A = newApiKey();
const A2 = newApiKey(); // tenant A's second key (a rotation)
const B = newApiKey();
const ADMIN = newApiKey();
const Q = newApiKey();
const STRANGER = newApiKey(); // configured for no tenant
const QUOTAS = { concurrentBatches: 1, itemsPerBatch: 5, uploadBytes: 2000 };
const TENANTS = [
  { id: 'tenant-a', keys: [A.digest, A2.digest] },
  { id: 'tenant-b', keys: [B.digest] },
  { id: 'ops', keys: [ADMIN.digest], admin: true },
  { id: 'small', keys: [Q.digest], quotas: QUOTAS },
];
const ALL_KEYS = [A, A2, B, ADMIN, Q];

const stack = useApiStack({ LLMBATCH_AUTH: 'keys', LLMBATCH_TENANTS: JSON.stringify(TENANTS) });

const OPEN = new Set(['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /metrics']);
const openRoute = (route: RouteDoc): boolean => route.auth === false;
const idRoutes = () => ROUTES.filter((r) => pathParams(r.path).length > 0);

const req = (
  method: string,
  path: string,
  key: string | undefined,
  opts: Omit<CallOptions, 'authorization'> = {},
): Promise<Reply> =>
  call(stack.base, method, path, { ...opts, authorization: key === undefined ? undefined : `Bearer ${key}` });
const openai = (key: string) => new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: key, maxRetries: 0 });
const ENDPOINT = '/v1/chat/completions';
const broken: BatchLine = {
  custom_id: 'broken',
  method: 'POST',
  url: ENDPOINT,
  body: { model: 'gpt-4o-mini', messages: [] },
}; // the simulator refuses it: a dead letter

async function progress(key: string, id: string): Promise<Json> {
  const r = await req('GET', `/batches/${id}`, key);
  if (r.status !== 200) throw new Error(`GET /batches/${id}: ${r.status} ${r.text}`);
  return r.body;
}
const ended = (p: Json) => ['completed', 'cancelled', 'failed'].includes(p.status as string);
const waitEnded = (key: string, id: string) => until(() => progress(key, id), ended, `${id} to end`);

async function createBatch(key: string, body: unknown): Promise<string> {
  const r = await req('POST', '/batches', key, { json: body });
  if (r.status !== 201) throw new Error(`POST /batches: ${r.status} ${r.text}`);
  return r.body.id as string;
}

/** A batch that stays running: created while the simulator is slow, paused at once, with nothing in flight. */
async function pausedBatch(key: string, create: () => Promise<string>): Promise<string> {
  stack.sim.configure({ latencyMedianMs: 3000 });
  try {
    const id = await create();
    const paused = await req('POST', `/batches/${id}/pause`, key);
    if (paused.status !== 202) throw new Error(`pause ${id}: ${paused.status} ${paused.text}`);
    await until(
      () => progress(key, id),
      (p) => p.status === 'paused' && p.chunksInFlight === 0,
      `${id} paused`,
    );
    return id;
  } finally {
    stack.sim.configure({ latencyMedianMs: 0 });
  }
}

/** What tenant A owns. */
const a = {} as {
  projDone: string;
  projRunning: string;
  file: string;
  v1Done: string;
  v1Running: string;
  schedule: string;
  request: string;
};
/** A's schedule: yearly and paused, so that no run of its own comes during the tests; a stray trigger shows. */
const A_SCHEDULE = { cron: '0 0 1 1 *', paused: true, note: 'tenant probe' };

/**
 * A's resources that a route with an id can name, by the route's path and parameter: every one B must get a 404 for.
 */
function candidateIds(route: RouteDoc): string[] {
  const [param, ...more] = pathParams(route.path);
  if (more.length > 0)
    throw new Error(`${routeKey(route)}: more than one path parameter; teach candidateIds to fill it`);
  if (param === 'file_id' && route.path.startsWith('/v1/files/'))
    // the upload last: the owner's DELETE removes it
    return [`file-${a.v1Done}_output`, `file-${a.v1Done}_error`, a.file];
  if (param === 'batch_id' && route.path.startsWith('/v1/batches/')) return [a.v1Done, a.v1Running];
  if (param === 'request_id' && route.path.startsWith('/requests/')) return [a.request];
  if (param === 'batch_id' && route.path.startsWith('/batches/'))
    return [a.projDone, a.projRunning, a.v1Done, a.v1Running];
  if (param === 'schedule_id') return [a.schedule];
  throw new Error(`${routeKey(route)}: no resource of tenant A for {${param}}; add one to candidateIds`);
}

/** A pipeline of one step over two items. */
const PIPELINE_PROBE = {
  steps: [{ name: 'only', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: '{{item.q}}' }] } }],
  items: [
    { custom_id: 'p1', q: 'one' },
    { custom_id: 'p2', q: 'two' },
  ],
};

/** A body each route that takes one accepts: a refusal then comes from the key or the owner, not from the body. */
function exampleBody(route: RouteDoc): Pick<CallOptions, 'json' | 'body'> {
  switch (route.operationId) {
    case 'createBatch':
      return { json: { requests: chatLines(2, 'probe') } };
    case 'retryBatch':
      return { json: {} };
    case 'createPipeline':
      return { json: PIPELINE_PROBE };
    case 'createRequest':
      return { json: { body: chatLines(1, 'probe')[0]!.body } };
    case 'setBatchPriority':
      return { json: { priority: 1 } }; // A's running batch has 4
    case 'setBatchConcurrency':
      return { json: { maxChunksInFlight: 3 } }; // A's running batch has 1
    case 'setLaneLimit':
      return { json: { rpm: 6000 } };
    case 'v1CreateFile':
      return { body: uploadForm(jsonl(chatLines(2, 'probe'))) };
    case 'v1CreateBatch':
      return { json: { input_file_id: a.file, endpoint: ENDPOINT, completion_window: '24h' } };
    case 'createSchedule':
      return { json: { ...A_SCHEDULE, fileId: a.file } };
    case 'pauseSchedule':
    case 'unpauseSchedule':
      return { json: { note: 'probe' } };
  }
  if (route.body) throw new Error(`${routeKey(route)} takes a body: add an example to exampleBody`);
  return {};
}

const send = (route: RouteDoc, id: string | undefined, authorization: string | undefined): Promise<Reply> =>
  call(stack.base, route.method, id === undefined ? route.path : fillPath(route.path, id), {
    ...exampleBody(route),
    authorization,
  });

/** Everything of A's a stray request could change, and the store's directories. */
async function snapshot() {
  const batches: Record<string, unknown> = {};
  for (const id of [a.projDone, a.projRunning, a.v1Done, a.v1Running]) {
    const { status, priority, maxChunksInFlight, total, succeeded, failed } = await progress(A.key, id);
    batches[id] = { status, priority, maxChunksInFlight, total, succeeded, failed };
  }
  const v1: Record<string, unknown> = {};
  for (const id of [a.v1Done, a.v1Running]) {
    const { status, cancelling_at, request_counts, output_file_id, error_file_id } = (
      await req('GET', `/v1/batches/${id}`, A.key)
    ).body;
    v1[id] = { status, cancelling_at, request_counts, output_file_id, error_file_id };
  }
  const ids = (r: Reply) => (r.body.data as { id: string }[]).map((x) => x.id);
  return {
    batches,
    v1,
    list: ids(await req('GET', '/batches?limit=100', A.key)),
    v1List: ids(await req('GET', '/v1/batches?limit=100', A.key)),
    files: ids(await req('GET', '/v1/files', A.key)),
    content: (await req('GET', `/v1/files/${a.file}/content`, A.key)).text,
    schedules: (await req('GET', '/schedules', A.key)).body.data.map((s: Json) => ({
      id: s.id,
      paused: s.paused,
      note: s.note,
      runs: s.runs,
    })),
    dirs: await storeDirs(),
  };
}

const dirList = async (dir: string) =>
  (await readdir(join(stack.config.dataDir, dir)).catch(() => [] as string[])).sort();
const storeDirs = async () => ({
  batches: await dirList('batches'),
  files: await dirList('openai-files'),
  staging: await dirList(join('openai-files', '.staging')),
});
/** The store's batches and files, without batch input staging directories (see the last quota test). */
const storedBatchesAndFiles = async () => {
  const dirs = await storeDirs();
  return { ...dirs, batches: dirs.batches.filter((d) => !d.endsWith('.staging')) };
};

describe('configuration', () => {
  it('refuses local mode off loopback, and one key for two tenants', () => {
    expect(() => loadConfig({ LLMBATCH_AUTH: 'local', API_HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ LLMBATCH_AUTH: 'local', API_HOST: '0.0.0.0' })).toThrow(/API_HOST/);
    expect(loadConfig({ LLMBATCH_AUTH: 'local', API_HOST: '127.0.0.1' }).auth).toMatchObject({
      mode: 'local',
      tenants: [{ id: 'local' }],
    });

    const shared = newApiKey().digest;
    const twice = JSON.stringify([
      { id: 'one', keys: [shared] },
      { id: 'two', keys: [newApiKey().digest, shared] },
    ]);
    expect(() => loadConfig({ LLMBATCH_AUTH: 'keys', LLMBATCH_TENANTS: twice })).toThrow(ConfigError);
    expect(() => loadConfig({ LLMBATCH_AUTH: 'keys', LLMBATCH_TENANTS: twice })).toThrow(/LLMBATCH_TENANTS/);
    // A key itself (not its digest) is refused: the configuration must never hold keys.
    expect(() => loadConfig({ LLMBATCH_TENANTS: JSON.stringify([{ id: 'one', keys: [A.key] }]) })).toThrow(
      /LLMBATCH_TENANTS/,
    );
    // Keys mode is the default.
    expect(loadConfig({ LLMBATCH_TENANTS: JSON.stringify(TENANTS) }).auth.mode).toBe('keys');
  });
});

describe('tenants', () => {
  beforeAll(async () => {
    const clientA = openai(A.key);
    a.projDone = await createBatch(A.key, { requests: [...chatLines(3, 'a'), broken] });
    a.file = (
      await clientA.files.create({
        file: await toFile(Buffer.from(jsonl([...chatLines(3, 'a1'), broken])), 'a.jsonl'),
        purpose: 'batch',
      })
    ).id;
    a.v1Done = (
      await clientA.batches.create({ input_file_id: a.file, endpoint: ENDPOINT, completion_window: '24h' })
    ).id;
    expect(await waitEnded(A.key, a.projDone)).toMatchObject({ status: 'completed', succeeded: 3, failed: 1 });
    const single = await req('POST', '/requests', A.key, { json: { body: chatLines(1, 'single')[0]!.body } });
    expect(single.body).toMatchObject({ status: 'completed' });
    a.request = single.body.id as string;
    expect(await waitEnded(A.key, a.v1Done)).toMatchObject({ status: 'completed', succeeded: 3, failed: 1 });

    a.projRunning = await pausedBatch(A.key, () =>
      createBatch(A.key, { requests: chatLines(300, 'slow'), priority: 4, options: { maxChunksInFlight: 1 } }),
    );
    const slowFile = await clientA.files.create({
      file: await toFile(Buffer.from(jsonl(chatLines(300, 'slow1'))), 'slow.jsonl'),
      purpose: 'batch',
    });
    a.v1Running = await pausedBatch(
      A.key,
      async () =>
        (await clientA.batches.create({ input_file_id: slowFile.id, endpoint: ENDPOINT, completion_window: '24h' })).id,
    );
    expect((await clientA.batches.retrieve(a.v1Running)).status).toBe('in_progress');
    a.schedule = (await req('POST', '/schedules', A.key, { json: { ...A_SCHEDULE, fileId: a.file } })).body.id;
  }, 120_000);

  it('answers 401 on every route but the open ones to a missing, unknown or malformed key; makes nothing', async () => {
    const badAuth: [string, string | undefined][] = [
      ['no Authorization header', undefined],
      ['an unknown key', `Bearer ${STRANGER.key}`],
      ["a tenant's configured digest sent as the key", `Bearer ${A.digest}`],
      ["a tenant's bare hex digest sent as the key", `Bearer ${A.digest.slice('sha256:'.length)}`],
      ['a Basic header', 'Basic x'],
      ['Bearer alone', 'Bearer'],
      ['a good key followed by more', `Bearer ${A.key} ${A.key}`],
    ];
    const lanesBefore = (await req('GET', '/lanes', ADMIN.key)).body;
    const before = await snapshot();
    const failures: string[] = [];
    let guarded = 0;
    for (const route of ROUTES) {
      const key = routeKey(route);
      const id = pathParams(route.path).length > 0 ? candidateIds(route)[0] : undefined;
      if (openRoute(route)) {
        expect(OPEN.has(key)).toBe(true); // only the probes, /metrics and the document are open
        const r = await send(route, id, undefined);
        if (r.status !== 200) failures.push(`${key} (open) without a key: ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      guarded += 1;
      for (const [what, authorization] of badAuth) {
        const r = await send(route, id, authorization);
        const error = r.body?.error;
        if (r.status !== 401) failures.push(`${key} with ${what}: ${r.status} ${r.text.slice(0, 200)}`);
        else if (error?.code !== 'invalid_api_key' || typeof error.message !== 'string')
          failures.push(`${key} with ${what}: ${r.text}`);
        else if (
          route.path.startsWith('/v1/') &&
          (Object.keys(error as object)
            .sort()
            .join() !== 'code,message,param,type' ||
            typeof error.type !== 'string')
        ) {
          failures.push(`${key} with ${what}: not in OpenAI's error shape: ${r.text}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(guarded).toBe(ROUTES.length - OPEN.size);
    // Nothing was created, cancelled, deleted or changed: batches, files, lanes, the store's directories.
    expect(await snapshot()).toEqual(before);
    expect((await req('GET', '/lanes', ADMIN.key)).body).toEqual(lanesBefore);
    for (const key of [B.key, Q.key]) {
      expect((await req('GET', '/batches', key)).body.data).toEqual([]);
      expect((await req('GET', '/v1/files', key)).body.data).toEqual([]);
    }
    // Either of A's keys is A.
    expect((await req('GET', `/batches/${a.projDone}`, A2.key)).status).toBe(200);
  });

  it('makes the official client throw AuthenticationError for an unknown key, on every /v1 route', async () => {
    const calls: Record<string, (c: OpenAI) => Promise<unknown>> = {
      v1CreateFile: async (c) =>
        c.files.create({ file: await toFile(Buffer.from(jsonl(chatLines(2, 'x'))), 'x.jsonl'), purpose: 'batch' }),
      v1ListFiles: (c) => c.files.list(),
      v1RetrieveFile: (c) => c.files.retrieve(a.file),
      v1DownloadFile: (c) => c.files.content(a.file),
      v1DeleteFile: (c) => c.files.delete(a.file),
      v1CreateBatch: (c) => c.batches.create({ input_file_id: a.file, endpoint: ENDPOINT, completion_window: '24h' }),
      v1ListBatches: (c) => c.batches.list(),
      v1RetrieveBatch: (c) => c.batches.retrieve(a.v1Done),
      v1CancelBatch: (c) => c.batches.cancel(a.v1Running),
    };
    const before = await snapshot();
    const v1Routes = ROUTES.filter((r) => r.path.startsWith('/v1/'));
    // a new /v1 route: add its client call above
    expect(v1Routes.filter((r) => !(r.operationId in calls)).map(routeKey)).toEqual([]);
    for (const apiKey of [STRANGER.key, A.digest]) {
      const client = openai(apiKey);
      for (const route of v1Routes) {
        const err = await (calls[route.operationId] as (c: OpenAI) => Promise<unknown>)(client).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
        expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
      }
    }
    expect(await snapshot()).toEqual(before);
    // The same calls with A's key work.
    expect((await openai(A.key).files.retrieve(a.file)).id).toBe(a.file);
  });

  it("answers 404 to another tenant's id on every route taking one, as to an unknown id; changes nothing", async () => {
    const before = await snapshot();
    const failures: string[] = [];
    let probes = 0;
    for (const route of idRoutes()) {
      for (const id of candidateIds(route)) {
        const r = await send(route, id, `Bearer ${B.key}`);
        const ghost = ghostOf(id);
        const none = await send(route, ghost, `Bearer ${B.key}`);
        probes += 1;
        if (r.status !== 404) failures.push(`${routeKey(route)} ${id}: ${r.status} ${r.text.slice(0, 200)}`);
        // Nothing tells A's id from one that was never made.
        else if (none.status !== 404 || r.text.replaceAll(id, '<id>') !== none.text.replaceAll(ghost, '<id>'))
          failures.push(`${routeKey(route)} ${id}: ${r.text} differs from ${none.status} ${none.text}`);
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThanOrEqual(idRoutes().length);
    // B's cancel, pause, resume, priority, concurrency, retry and delete did nothing to A's batches and file.
    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.batches[a.projRunning]).toMatchObject({ status: 'paused', priority: 4, maxChunksInFlight: 1 });
    expect(after.v1[a.v1Running]).toMatchObject({ status: 'in_progress', cancelling_at: null });
    // And gave B nothing: no batch from A's dead letters.
    expect((await req('GET', '/batches', B.key)).body.data).toEqual([]);
    expect((await req('GET', '/v1/batches', B.key)).body.data).toEqual([]);
  });

  it("lets another tenant use every route without an id on its own data, and lists none of A's", async () => {
    const aIds = [a.projDone, a.projRunning, a.v1Done, a.v1Running, a.file, a.schedule];
    const ids = (r: Reply) => (r.body.data as { id: string }[]).map((x) => x.id);
    const own = { batches: [] as string[], files: [] as string[], v1: [] as string[], schedules: [] as string[] };
    const checks: Record<string, () => Promise<void>> = {
      getHealth: async () => expect((await req('GET', '/healthz', undefined)).status).toBe(200),
      getReadiness: async () => expect((await req('GET', '/readyz', undefined)).status).toBe(200),
      getOpenApiDocument: async () => expect((await req('GET', '/openapi.json', undefined)).status).toBe(200),
      getMetrics: async () => expect((await req('GET', '/metrics', undefined)).status).toBe(200),
      createBatch: async () => {
        own.batches.push(await createBatch(B.key, { requests: chatLines(2, 'b') }));
        const ndjson = await req('POST', '/batches', B.key, {
          body: jsonl(chatLines(2, 'bn')),
          headers: { 'content-type': 'application/x-ndjson' },
        });
        expect(ndjson.status).toBe(201);
        own.batches.push(ndjson.body.id as string);
      },
      createPipeline: async () => {
        const r = await req('POST', '/pipelines', B.key, { json: PIPELINE_PROBE });
        expect(r.status).toBe(201);
        own.batches.push(r.body.id as string);
      },
      createRequest: async () => {
        const r = await req('POST', '/requests', B.key, { json: { body: chatLines(1, 'b')[0]!.body } });
        expect(r.body).toMatchObject({ status: 'completed' });
        own.batches.push(r.body.batch_id as string); // gathered into a batch of B's own
      },
      listBatches: async () => {
        const r = await req('GET', '/batches?limit=100', B.key);
        expect(r.status).toBe(200);
        expect(ids(r).sort()).toEqual([...own.batches, ...own.v1].sort()); // the project list shows /v1 batches too
      },
      createSchedule: async () => {
        // A's file is no input for B's schedule (a 400 naming fileId, and no schedule); lines of B's own are.
        const theirs = await req('POST', '/schedules', B.key, { json: { ...A_SCHEDULE, fileId: a.file } });
        expect(theirs.status).toBe(400);
        expect(theirs.body.error.message).toContain('fileId');
        const r = await req('POST', '/schedules', B.key, { json: { ...A_SCHEDULE, requests: chatLines(2, 'bs') } });
        expect(r.status).toBe(201);
        own.schedules.push(r.body.id as string);
        own.files.push(r.body.fileId as string); // the lines, stored as B's file
      },
      listSchedules: async () => expect(ids(await req('GET', '/schedules', B.key))).toEqual(own.schedules),
      listLanes: async () => {
        const r = await req('GET', '/lanes', B.key);
        expect(r.status).toBe(200);
        expect(r.body.data.length).toBeGreaterThan(0);
      },
      setLaneLimit: async () =>
        // lanes are everyone's: admins only
        expect((await req('PUT', '/lanes/limits', B.key, { json: { rpm: 6000 } })).status).toBe(403),
      v1CreateFile: async () => {
        const r = await req('POST', '/v1/files', B.key, { body: uploadForm(jsonl(chatLines(2, 'bf'))) });
        expect(r.status).toBe(200);
        own.files.push(r.body.id as string);
      },
      v1ListFiles: async () => expect(ids(await req('GET', '/v1/files', B.key)).sort()).toEqual(own.files.sort()),
      v1CreateBatch: async () => {
        // A's file as the input is as absent as a missing one, and creates nothing.
        const theirs = await req('POST', '/v1/batches', B.key, {
          json: { input_file_id: a.file, endpoint: ENDPOINT, completion_window: '24h' },
        });
        expect(theirs.status).toBe(404);
        expect(theirs.body.error).toMatchObject({ param: 'input_file_id' });
        const r = await req('POST', '/v1/batches', B.key, {
          json: { input_file_id: own.files[0], endpoint: ENDPOINT, completion_window: '24h' },
        });
        expect(r.status).toBe(200);
        own.v1.push(r.body.id as string);
      },
      v1ListBatches: async () => expect(ids(await req('GET', '/v1/batches', B.key))).toEqual(own.v1),
    };
    const noId = ROUTES.filter((r) => pathParams(r.path).length === 0);
    // a new route without an id: add its check above
    expect(noId.filter((r) => !(r.operationId in checks)).map(routeKey)).toEqual([]);
    for (const route of noId) await (checks[route.operationId] as () => Promise<void>)();
    expect(own.batches).toHaveLength(4);
    expect(own.v1).toHaveLength(1);

    // B's lists never show A's; A's lists show A's and never B's.
    const bSees = [
      ...ids(await req('GET', '/batches?limit=100', B.key)),
      ...ids(await req('GET', '/v1/batches', B.key)),
      ...ids(await req('GET', '/v1/files', B.key)),
      ...ids(await req('GET', '/schedules', B.key)),
    ];
    expect(bSees.filter((id) => aIds.includes(id))).toEqual([]);
    const aSees = [
      ...ids(await req('GET', '/batches?limit=100', A.key)),
      ...ids(await req('GET', '/v1/batches', A.key)),
      ...ids(await req('GET', '/v1/files', A.key)),
      ...ids(await req('GET', '/schedules', A.key)),
    ];
    expect(aIds.filter((id) => !aSees.includes(id))).toEqual([]);
    expect(aSees.filter((id) => [...own.batches, ...own.v1, ...own.files, ...own.schedules].includes(id))).toEqual([]);
    for (const id of [...own.batches, ...own.v1]) expect((await waitEnded(B.key, id)).status).toBe('completed');
  });

  it('lets only an admin change a lane limit', async () => {
    const lanes = async () => (await req('GET', '/lanes', ADMIN.key)).body;
    const before = await lanes();
    for (const key of [A.key, Q.key]) {
      const r = await req('PUT', '/lanes/limits', key, { json: { rpm: 6000 } });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('permission_denied');
    }
    expect(await lanes()).toEqual(before);
    const set = await req('PUT', '/lanes/limits', ADMIN.key, { json: { rpm: 6000 } });
    expect(set.status).toBe(200);
    expect(set.body.limit.chunksPerSecond).toBeGreaterThan(0);
    const cleared = await req('PUT', '/lanes/limits', ADMIN.key, { json: { rpm: null, tpm: null } });
    expect(cleared.status).toBe(200);
  });

  it('records the tenant in the workflow input (its fairness key), and no key or digest in the history', async () => {
    const { client } = stack.env;
    const b = (await req('GET', '/batches?limit=1', B.key)).body.data[0].id as string;
    for (const [id, tenant] of [
      [a.projDone, 'tenant-a'],
      [a.v1Done, 'tenant-a'],
      [b, 'tenant-b'],
    ] as const) {
      const history = await historyText(client, batchWorkflowId(id));
      expect(history.input).toMatchObject({ batchId: id, tenant });
      // The search can find things: the batch id and the tenant are in the decoded payloads.
      expect(history.text).toContain(`"tenant":"${tenant}"`);
      for (const { key, digest } of ALL_KEYS) {
        for (const secret of [key, digest, digest.slice('sha256:'.length)])
          expect(history.text.includes(secret)).toBe(false);
      }
      // The chunks' activities are scheduled with the tenant as their fairness key.
      const chunks = history.events.flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'processChunk'
          ? [e.activityTaskScheduledEventAttributes]
          : [],
      );
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.map((c) => c.priority?.fairnessKey)).toEqual(chunks.map(() => tenant));
    }
  });

  it('lets the owner use every route with an id: none answers 404', async () => {
    // Destructive routes (cancel, delete) last; the slow simulator keeps a resumed batch running until its cancel.
    const destructive = (r: RouteDoc) => r.method === 'delete' || r.path.endsWith('/cancel');
    const routes = [...idRoutes().filter((r) => !destructive(r)), ...idRoutes().filter(destructive)];
    const running = [a.projRunning, a.v1Running];
    const failures: string[] = [];
    stack.sim.configure({ latencyMedianMs: 3000 });
    try {
      for (const route of routes) {
        // A signal to a batch that has ended finds no workflow; the owner's signals go to the running ones.
        const ids = route.method === 'post' && route.path.startsWith('/batches/') ? running : candidateIds(route);
        for (const id of ids) {
          const r = await send(route, id, `Bearer ${A.key}`);
          if (r.status === 404 || r.status >= 500)
            failures.push(`${routeKey(route)} ${id}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      }
    } finally {
      stack.sim.configure({ latencyMedianMs: 0 });
    }
    expect(failures).toEqual([]);
    for (const id of running) expect((await waitEnded(A.key, id)).status).toBe('cancelled');
    expect((await req('GET', `/v1/files/${a.file}`, A.key)).status).toBe(404); // the owner's DELETE did delete it
  });
});

describe('quotas', () => {
  const small = () => openai(Q.key);
  const qIds = async () => ({
    batches: ((await req('GET', '/batches?limit=100', Q.key)).body.data as { id: string }[]).map((b) => b.id),
    files: ((await req('GET', '/v1/files', Q.key)).body.data as { id: string }[]).map((f) => f.id),
  });
  /** A line padded to about `bytes` bytes. */
  const padded = (i: number, bytes: number): BatchLine => ({
    custom_id: `pad-${i}`,
    method: 'POST',
    url: ENDPOINT,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(bytes) }] },
  });

  it("refuses a batch over the tenant's items per batch, naming the request, and creates nothing", async () => {
    const before = { ids: await qIds(), dirs: await storedBatchesAndFiles() };
    const json = await req('POST', '/batches', Q.key, { json: { requests: chatLines(6, 'q') } });
    expect(json.status).toBe(400);
    expect(json.body.error).toMatchObject({ code: 'quota_exceeded', details: { index: 5 } });
    expect(json.body.error.message).toContain('requests.5');
    expect(json.body.error.message).toContain('items per batch');

    const ndjson = await req('POST', '/batches', Q.key, {
      body: jsonl(chatLines(6, 'q')),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(ndjson.status).toBe(400);
    expect(ndjson.body.error).toMatchObject({ code: 'quota_exceeded', details: { line: 6 } });
    expect(ndjson.body.error.message).toContain('line 6');
    expect(ndjson.body.error.message).toContain('items per batch');

    // A file is one batch's input: the quota bounds it too.
    const err = await small()
      .files.create({ file: await toFile(Buffer.from(jsonl(chatLines(6, 'q'))), 'six.jsonl'), purpose: 'batch' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 400, code: 'too_many_requests' });
    expect((err as APIError).message).toContain('Line 6');

    expect({ ids: await qIds(), dirs: await storedBatchesAndFiles() }).toEqual(before);
    // Five is within it.
    const five = await createBatch(Q.key, { requests: chatLines(5, 'q') });
    expect((await waitEnded(Q.key, five)).status).toBe('completed');
  });

  it("answers 413 to an upload over the tenant's upload size, and stores nothing", async () => {
    const before = { ids: await qIds(), dirs: await storedBatchesAndFiles() };
    const big = jsonl([0, 1, 2].map((i) => padded(i, 800))); // three lines (within items per batch), about 2,700 bytes
    expect(Buffer.byteLength(big)).toBeGreaterThan(QUOTAS.uploadBytes);

    const err = await small()
      .files.create({ file: await toFile(Buffer.from(big), 'big.jsonl'), purpose: 'batch' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(413);
    expect(Object.keys((err as APIError).error as object).sort()).toEqual(['code', 'message', 'param', 'type']);

    const ndjson = { 'content-type': 'application/x-ndjson' };
    const declared = await req('POST', '/batches', Q.key, { body: big, headers: ndjson });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('quota_exceeded');
    // Streamed without a content-length: counted as it arrives.
    const bytes = new TextEncoder().encode(big);
    const streamed = await req('POST', '/batches', Q.key, {
      headers: ndjson,
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 500) c.enqueue(bytes.slice(i, i + 500));
          c.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body.error.code).toBe('quota_exceeded');
    const asJson = await req('POST', '/batches', Q.key, { json: { requests: [0, 1, 2].map((i) => padded(i, 800)) } });
    expect(asJson.status).toBe(413);

    expect({ ids: await qIds(), dirs: await storedBatchesAndFiles() }).toEqual(before);
  });

  it("answers 429 quota_exceeded while the tenant's concurrent batches run, accepts again once they end", async () => {
    const running = await pausedBatch(Q.key, () => createBatch(Q.key, { requests: chatLines(5, 'run') }));
    const before = await qIds();

    const second = await req('POST', '/batches', Q.key, { json: { requests: chatLines(1, 'second') } });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('quota_exceeded');
    expect(second.body.error.message).toContain('concurrent batches');

    // Under /v1: the file is accepted (it is not a batch), the batch is refused in OpenAI's shape.
    const file = await small().files.create({
      file: await toFile(Buffer.from(jsonl(chatLines(2, 'v'))), 'v.jsonl'),
      purpose: 'batch',
    });
    const err = await small()
      .batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err).toMatchObject({ status: 429, code: 'quota_exceeded' });
    expect((await req('GET', '/batches?limit=100', Q.key)).body.data.map((b: { id: string }) => b.id)).toEqual(
      before.batches,
    );
    expect((await small().batches.list()).data).toEqual([]);

    // The quota is the tenant's: another tenant is not held back.
    expect((await req('POST', '/batches', B.key, { json: { requests: chatLines(1, 'other') } })).status).toBe(201);

    expect((await req('POST', `/batches/${running}/cancel`, Q.key)).status).toBe(202);
    expect((await waitEnded(Q.key, running)).status).toBe('cancelled');
    // 'cancelled' shows as soon as the signal lands; the slot is free once the workflow has closed (its chunks
    // stopped, its outcome stored), a moment later: until then a create is still 429.
    const admitted = await until(
      () => req('POST', '/batches', Q.key, { json: { requests: chatLines(1, 'again') } }),
      (r) => r.status !== 429,
      'the slot to be freed',
      30_000,
    );
    expect(admitted.status).toBe(201);
    const again = admitted.body.id as string;
    expect((await waitEnded(Q.key, again)).status).toBe('completed');
    expect(
      (await small().batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h' })).status,
    ).toBe('in_progress');
  });

  it('leaves no input staging directory behind for the batches it refused', async () => {
    // The refusals above (items per batch, upload size) stopped FileBatchStore.putInput part-way.
    expect((await dirList('batches')).filter((d) => d.endsWith('.staging'))).toEqual([]);
  });
});
