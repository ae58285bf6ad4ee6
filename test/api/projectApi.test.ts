/**
 * The project API beyond create-and-read (api.test.ts): NDJSON uploads streamed in, listing with filters
 * and cursors, result filters, and the retry of a batch's dead letters. Dead letters come from the
 * simulator's faults: 5xx on a share of calls with one attempt per chunk (`retries_exhausted`), plus
 * lines the simulator refuses (an empty conversation: a permanent 400). Completed batches with dead letters
 * stay open for LLMBATCH_RETRY_GRACE, so the Web UI's retry (the retryDeadLetters signal) is tested here too.
 */
import { Readable } from 'node:stream';
import type { BatchLine, BatchOutputLine } from '../../src/shared/contracts';
import { retryDeadLettersSignal } from '../../src/shared/retry';
import { SearchAttributeKeys } from '../../src/shared/searchAttributes';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

const stack = useApiStack({ LLMBATCH_RETRY_GRACE: '10m' });

type View = {
  id: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  priority: number;
  createdAt: string;
  retryOf: string | null;
  retriedBy: string[];
};
type ErrorBody = { error: { message: string; code?: string } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const post = (path: string, body: unknown) =>
  fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${stack.base}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const results = async (id: string, query = ''): Promise<BatchOutputLine[]> => {
  const res = await fetch(`${stack.base}/batches/${id}/results${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/x-ndjson');
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
};

async function create(body: unknown): Promise<string> {
  const res = await post('/batches', body);
  if (res.status !== 201) throw new Error(`POST /batches: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function until(
  id: string,
  done: (v: View) => boolean = (v) => v.status !== 'running',
  timeoutMs = 60_000,
): Promise<View> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get<View>(`/batches/${id}`);
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`batch ${id} still ${v.status}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

/** POST /batches as NDJSON; the body goes out as a stream (chunked, no content-length). */
function postNdjson(query: string, chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>) {
  const body = Readable.toWeb(Readable.from(chunks)) as ReadableStream;
  return fetch(`${stack.base}/batches${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
    duplex: 'half',
  });
}

const noModel = (l: BatchLine): BatchLine => ({ ...l, body: { messages: l.body.messages } });

describe('POST /batches as application/x-ndjson', () => {
  it('streams 2,000 lines in with the options as query parameters, and runs them once each', async () => {
    const lines = chatLines(2000, 'nd').map(noModel);
    const text = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    // Uneven pieces, so that lines straddle the chunks the server reads; sent slowly enough to stream.
    async function* pieces() {
      for (let at = 0, n = 0; at < text.length; n++) {
        const size = 997 + ((n * 7919) % 30_000);
        yield Buffer.from(text.slice(at, at + size));
        at += size;
        if (n % 10 === 0) await sleep(1);
      }
    }
    const res = await postNdjson('?model=gpt-4.1-nano&priority=2', pieces());
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; total: number; mode: string; status: string };
    expect(created).toMatchObject({ total: 2000, mode: 'realtime', status: 'running' });

    const done = await until(created.id);
    expect(done).toMatchObject({
      id: created.id,
      status: 'completed',
      total: 2000,
      succeeded: 2000,
      failed: 0,
      pending: 0,
      priority: 2,
      retryOf: null,
    });
    const all = await results(created.id);
    expect(all).toHaveLength(2000);
    expect(new Set(all.map((r) => r.custom_id))).toEqual(new Set(lines.map((l) => l.custom_id)));
    // The model of the query string applies to lines that give none.
    expect(all.every((r) => (r.response?.body as { model: string }).model === 'gpt-4.1-nano')).toBe(true);
  });

  it('accepts a byte order mark, CRLF line ends, blank lines and no final newline', async () => {
    const [a, b, c] = chatLines(3, 'crlf').map((l) => JSON.stringify(l));
    const res = await postNdjson('', [`\ufeff${a}\r\n\r\n`, `   \r\n${b}\r`, `\n\n${c}`]);
    expect(res.status).toBe(201);
    const { id, total } = (await res.json()) as { id: string; total: number };
    expect(total).toBe(3);
    expect(await until(id)).toMatchObject({ status: 'completed', succeeded: 3, failed: 0 });
    expect((await results(id)).map((r) => r.custom_id).sort()).toEqual(['crlf-0', 'crlf-1', 'crlf-2']);
  });
});

describe('GET /batches', () => {
  const made: string[] = [];
  const cancelled: string[] = [];

  beforeAll(async () => {
    // Two completed, two cancelled part-way (slow answers), one more completed: five, created in order.
    made.push(await create({ requests: chatLines(3, 'list-a') }));
    await until(made[0] as string);
    made.push(await create({ requests: chatLines(3, 'list-b') }));
    await until(made[1] as string);
    stack.sim.configure({ latencyMedianMs: 200, latencyP99Ms: 300 });
    try {
      for (const tag of ['list-c', 'list-d']) {
        const id = await create({ requests: chatLines(300, tag), options: { maxChunksInFlight: 1 } });
        made.push(id);
        cancelled.push(id);
        expect((await post(`/batches/${id}/cancel`, {})).status).toBe(202);
        await until(id);
      }
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }
    made.push(await create({ requests: chatLines(3, 'list-e') }));
    await until(made[4] as string);
  });

  it('lists newest first, with the creation time and state of each', async () => {
    const { data, next_cursor } = await get<{ data: View[]; next_cursor: string | null }>('/batches?limit=100');
    expect(next_cursor).toBeNull();
    const ids = data.map((v) => v.id);
    expect(ids.slice(0, 5)).toEqual([...made].reverse());
    const times = data.map((v) => Date.parse(v.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(data.find((v) => v.id === made[0])).toMatchObject({
      status: 'completed',
      total: 3,
      succeeded: 3,
      retryOf: null,
    });
    for (const id of cancelled) expect(data.find((v) => v.id === id)?.status).toBe('cancelled');
  });

  it('pages with limit=2 and cursor through every batch, without repeats or gaps', async () => {
    const everything = (await get<{ data: View[] }>('/batches?limit=100')).data.map((v) => v.id);
    expect(everything.length).toBeGreaterThanOrEqual(7); // two NDJSON batches before these five
    const paged: string[] = [];
    let pages = 0;
    for (let cursor: string | null = null; ;) {
      const page: { data: View[]; next_cursor: string | null } = await get(
        `/batches?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages += 1;
      expect(page.data.length).toBeLessThanOrEqual(2);
      paged.push(...page.data.map((v) => v.id));
      if (page.next_cursor === null) break;
      expect(page.next_cursor).toBe(page.data.at(-1)?.id);
      cursor = page.next_cursor;
    }
    expect(paged).toEqual(everything);
    expect(pages).toBe(Math.ceil(everything.length / 2));
  });

  it('filters by status, also across pages', async () => {
    const { data } = await get<{ data: View[] }>('/batches?status=cancelled');
    expect(data.map((v) => v.id)).toEqual([...cancelled].reverse());
    const first = await get<{ data: View[]; next_cursor: string | null }>('/batches?status=cancelled&limit=1');
    expect(first.data.map((v) => v.id)).toEqual([cancelled[1]]);
    expect(first.next_cursor).toBe(cancelled[1]);
    const second = await get<{ data: View[]; next_cursor: string | null }>(
      `/batches?status=cancelled&limit=1&cursor=${first.next_cursor}`,
    );
    expect(second).toEqual({ data: [expect.objectContaining({ id: cancelled[0] })], next_cursor: null });
    const completed = (await get<{ data: View[] }>('/batches?status=completed&limit=100')).data;
    expect(completed.length).toBeGreaterThanOrEqual(5);
    expect(completed.every((v) => v.status === 'completed')).toBe(true);
    expect((await get<{ data: View[] }>('/batches?status=paused')).data).toEqual([]);
  });

  it('bounds by creation time: created_after inclusive, created_before exclusive', async () => {
    const views = await Promise.all(made.map((id) => get<View>(`/batches/${id}`)));
    const at = (i: number) => (views[i] as View).createdAt;
    expect(new Set(views.map((v) => v.createdAt)).size).toBe(5);
    const between = await get<{ data: View[] }>(
      `/batches?created_after=${encodeURIComponent(at(1))}&created_before=${encodeURIComponent(at(4))}`,
    );
    expect(between.data.map((v) => v.id)).toEqual([made[3], made[2], made[1]]);
    const after = await get<{ data: View[] }>(`/batches?created_after=${encodeURIComponent(at(3))}`);
    expect(after.data.map((v) => v.id)).toEqual([made[4], made[3]]);
    // An offset other than Z means the same instant.
    const plusTwo = new Date(Date.parse(at(2)) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const before = await get<{ data: View[] }>(`/batches?created_before=${encodeURIComponent(plusTwo)}&limit=100`);
    expect(before.data.map((v) => v.id).slice(0, 2)).toEqual([made[1], made[0]]);
    expect(before.data.map((v) => v.id)).not.toContain(made[2]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await get<{ data: View[] }>(`/batches?created_after=${encodeURIComponent(future)}`)).data).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=two', 'limit'],
    ['status=nope', 'status'],
    ['created_after=yesterday', 'created_after'],
    ['created_before=2024-01-01', 'created_before'],
    ['cursor=a%2Fb', 'cursor'],
    ['colour=red', 'colour'],
  ])('answers 400 naming the parameter for ?%s', async (query, param) => {
    const res = await fetch(`${stack.base}/batches?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain(param);
  });
});

describe('results filters and retrying dead letters', () => {
  // 40 lines the simulator answers, 3 it refuses (a permanent 400); 30% 5xx and one attempt per chunk.
  const valid = chatLines(40, 'flaky');
  const refused: BatchLine[] = [0, 1, 2].map((i) => ({
    custom_id: `refused-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [] },
  }));
  let id: string;
  let view: View;
  let all: BatchOutputLine[];
  let refusedCode: string;

  beforeAll(async () => {
    stack.sim.configure({ errorRate: 0.3 });
    try {
      id = await create({
        requests: [...valid.slice(0, 20), ...refused, ...valid.slice(20)],
        options: { maxAttempts: 1 },
      });
      view = await until(id);
    } finally {
      stack.sim.configure({ errorRate: 0 });
    }
    all = await results(id);
    refusedCode = all.find((r) => r.custom_id === 'refused-0')?.error?.code as string;
  });

  it('has dead letters of both kinds', () => {
    expect(view).toMatchObject({ status: 'completed', total: 43, pending: 0 });
    expect(view.failed).toBeGreaterThan(3); // some 5xx, almost surely (0.7^40 that none)
    expect(view.succeeded).toBeGreaterThan(0);
    expect(all).toHaveLength(43);
    expect(refusedCode).toEqual(expect.any(String));
    expect(refusedCode).not.toBe('retries_exhausted');
  });

  it('status=failed and status=succeeded split the results', async () => {
    const failed = await results(id, '?status=failed');
    const succeeded = await results(id, '?status=succeeded');
    expect(failed).toHaveLength(view.failed);
    expect(succeeded).toHaveLength(view.succeeded);
    expect(failed.every((r) => r.response === null && r.error !== null)).toBe(true);
    expect(succeeded.every((r) => r.error === null && r.response?.status_code === 200)).toBe(true);
    expect([...failed, ...succeeded].map((r) => r.custom_id).sort()).toEqual(all.map((r) => r.custom_id).sort());
    expect(await results(id, '?status=all')).toHaveLength(43);
  });

  it('error_code selects failures with that code', async () => {
    const exhausted = await results(id, '?error_code=retries_exhausted');
    expect(exhausted).toHaveLength(view.failed - 3);
    expect(exhausted.every((r) => r.custom_id.startsWith('flaky-') && r.error?.code === 'retries_exhausted')).toBe(
      true,
    );
    const byRefusal = await results(id, `?error_code=${encodeURIComponent(refusedCode)}`);
    expect(byRefusal.map((r) => r.custom_id).sort()).toEqual(['refused-0', 'refused-1', 'refused-2']);
    expect(await results(id, '?status=succeeded&error_code=retries_exhausted')).toEqual([]);
    expect(await results(id, '?error_code=no_such_code')).toEqual([]);
  });

  it('custom_id=a,b selects those results', async () => {
    const ok = all.find((r) => r.error === null)?.custom_id as string;
    const picked = await results(id, `?custom_id=${encodeURIComponent(`${ok},refused-1,not-there`)}`);
    expect(picked.map((r) => r.custom_id).sort()).toEqual([ok, 'refused-1'].sort());
    expect(await results(id, `?custom_id=${encodeURIComponent(ok)}&status=failed`)).toEqual([]);
  });

  it.each([
    ['status=nope', 'status'],
    ['custom_id=a,,b', 'custom_id'],
    ['error_code=', 'error_code'],
    ['colour=red', 'colour'],
  ])('answers 400 naming the parameter for ?%s', async (query, param) => {
    const res = await fetch(`${stack.base}/batches/${id}/results?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain(param);
  });

  it('retries exactly the dead letters as a new batch linked to the old one; faults off, they succeed', async () => {
    const dead = all.filter((r) => r.error !== null).map((r) => r.custom_id);
    const res = await post(`/batches/${id}/retry`, {});
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; total: number; retryOf: string; status: string };
    expect(created).toMatchObject({ total: view.failed, retryOf: id, status: 'running' });
    expect(created.id).not.toBe(id);

    const retried = await until(created.id);
    // The 5xx ones succeed now; the simulator still refuses the others, with the same code.
    expect(retried).toMatchObject({
      id: created.id,
      retryOf: id,
      status: 'completed',
      total: view.failed,
      succeeded: view.failed - 3,
      failed: 3,
      pending: 0,
    });
    const again = await results(created.id);
    expect(again.map((r) => r.custom_id).sort()).toEqual([...dead].sort());
    expect((await results(created.id, '?status=failed')).map((r) => [r.custom_id, r.error?.code]).sort()).toEqual(
      refused.map((l) => [l.custom_id, refusedCode]),
    );
    // Same requests as before: the same answers the simulator gives each body.
    const ok = again.find((r) => r.custom_id.startsWith('flaky-'));
    expect((ok?.response?.body as { model: string }).model).toBe('gpt-4o-mini');

    expect(await get<View>(`/batches/${id}`)).toMatchObject({ retryOf: null, retriedBy: [created.id] });
    const listed = (await get<{ data: View[] }>('/batches?limit=1')).data[0];
    expect(listed).toMatchObject({ id: created.id, retryOf: id });

    // Its own dead letters (the refused three) can be retried in turn.
    const second = await post(`/batches/${created.id}/retry`, { priority: 1 });
    expect(second.status).toBe(201);
    const secondId = ((await second.json()) as { id: string; total: number }).id;
    expect(await until(secondId)).toMatchObject({
      retryOf: created.id,
      retriedBy: [],
      total: 3,
      failed: 3,
      priority: 1,
    });
    expect(await get<View>(`/batches/${created.id}`)).toMatchObject({ retryOf: id, retriedBy: [secondId] });
  });

  it('refuses to retry a running batch (409), one without dead letters (409) and an unknown one (404)', async () => {
    const clean = await create({ requests: chatLines(5, 'clean') });
    expect(await until(clean)).toMatchObject({ status: 'completed', failed: 0 });
    const none = await post(`/batches/${clean}/retry`, {});
    expect(none.status).toBe(409);
    expect(((await none.json()) as ErrorBody).error).toMatchObject({
      code: 'no_dead_letters',
      message: expect.stringContaining('no dead letters'),
    });

    stack.sim.configure({ latencyMedianMs: 200, latencyP99Ms: 300 });
    try {
      const running = await create({ requests: chatLines(200, 'busy'), options: { maxChunksInFlight: 1 } });
      const res = await post(`/batches/${running}/retry`, {});
      expect(res.status).toBe(409);
      expect(((await res.json()) as ErrorBody).error).toMatchObject({
        code: 'batch_not_ended',
        message: expect.stringContaining('running'),
      });
      await post(`/batches/${running}/cancel`, {});
      await until(running);
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }

    expect((await post('/batches/00000000-0000-0000-0000-000000000000/retry', {})).status).toBe(404);
    expect((await post('/batches/batch_000000000000000000000000/retry', {})).status).toBe(404);
    const bad = await post(`/batches/${id}/retry`, { priority: 9 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.message).toContain('priority');
  });

  it('the Web UI retry: retryDeadLetters re-runs them in the same batch (running again, then completed)', async () => {
    const handle = stack.env.client.workflow.getHandle(`batch-${id}`);
    const desc = await handle.describe();
    expect(desc.status.name).toBe('RUNNING'); // completed, and waiting out its grace
    expect(await desc.staticSummary()).toBe('43 × gpt-4o-mini chat · realtime · tenant local');
    expect(await desc.staticDetails()).toContain('signal `retryDeadLetters`');
    expect(desc.typedSearchAttributes.get(SearchAttributeKeys.status)).toBe('completed');
    expect(desc.typedSearchAttributes.get(SearchAttributeKeys.tenant)).toBe('local');
    expect(desc.typedSearchAttributes.get(SearchAttributeKeys.model)).toBe('gpt-4o-mini');
    // Open, but the API's gauges count it neither running nor paused (no stalled-batch alert while it waits).
    const metrics = await (await fetch(`${stack.base}/metrics`)).text();
    expect(metrics).toContain('llmbatch_batches');
    expect(metrics).not.toMatch(/^llmbatch_batches\{[^}]*status="running"[^}]*\} [1-9]/m);

    stack.sim.configure({ latencyMedianMs: 300, latencyP99Ms: 400 });
    try {
      await handle.signal(retryDeadLettersSignal);
      // Its dead letters reopened, the batch is running again: GET answers from the workflow, not the old outcome.
      const running = await until(id, (v) => v.status === 'running', 10_000);
      expect(running.total).toBe(43);
      expect(running.succeeded).toBeGreaterThanOrEqual(view.succeeded); // kept, and not called again
      expect(running.failed).toBeLessThan(view.failed); // the reopened ones are pending
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }
    // The 5xx ones succeed now; the simulator refuses the other three again.
    expect(await until(id)).toMatchObject({ status: 'completed', total: 43, succeeded: 40, failed: 3, pending: 0 });
    const failed = await results(id, '?status=failed');
    expect(failed.map((r) => r.custom_id).sort()).toEqual(['refused-0', 'refused-1', 'refused-2']);
    expect(await results(id)).toHaveLength(43);
  });
});

describe('Idempotency-Key on POST /batches and POST /v1/batches', () => {
  const postWithKey = (key: string, body: unknown) =>
    fetch(`${stack.base}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });

  it('a repeated key gets the first batch back (200, Idempotent-Replayed) and creates nothing', async () => {
    const first = await postWithKey('order-42', { requests: chatLines(5, 'idem') });
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };
    const countBefore = (await get<{ data: View[] }>('/batches?limit=100')).data.length;

    // The retry of a request whose answer was lost: same key, same body.
    const again = await postWithKey('order-42', { requests: chatLines(5, 'idem') });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toMatchObject({ id, total: 5 });

    // The key with another request is the client's mistake: 422, not the first batch.
    for (const body of [
      { requests: chatLines(9, 'other') },
      { requests: chatLines(5, 'idem'), priority: 1 },
      { requests: chatLines(5, 'idem').reverse() },
    ]) {
      const reused = await postWithKey('order-42', body);
      expect(reused.status).toBe(422);
      const { error } = (await reused.json()) as ErrorBody;
      expect(error.code).toBe('idempotency_key_reused');
      expect(error.message).toContain(id);
    }
    expect((await get<{ data: View[] }>('/batches?limit=100')).data.length).toBe(countBefore);

    const other = await postWithKey('order-43', { requests: chatLines(2, 'idem2') });
    expect(other.status).toBe(201);
    expect(((await other.json()) as { id: string }).id).not.toBe(id);

    const bad = await postWithKey('has a space', { requests: chatLines(1) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.code).toBe('invalid_idempotency_key');
  });

  it('a key whose first request is still streaming in answers 409; a failed request frees its key', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield `${JSON.stringify(chatLines(1, 'slow')[0])}\n`;
      await held; // the upload is still coming in
      yield `${JSON.stringify(chatLines(2, 'slow')[1])}\n`;
    }
    const body = Readable.toWeb(Readable.from(slow())) as ReadableStream;
    const first = fetch(`${stack.base}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': 'slow-1' },
      body,
      duplex: 'half',
    });
    await sleep(300);
    const meanwhile = await postWithKey('slow-1', { requests: chatLines(1) });
    expect(meanwhile.status).toBe(409);
    expect(((await meanwhile.json()) as ErrorBody).error.code).toBe('idempotency_key_in_use');
    release();
    expect((await first).status).toBe(201);

    const refused = await postWithKey('bad-1', { requests: [{ ...chatLines(1)[0], method: 'GET' }] });
    expect(refused.status).toBe(400);
    expect((await postWithKey('bad-1', { requests: chatLines(1, 'fixed') })).status).toBe(201);
  });

  it('NDJSON: the same stream again is a replay; one changed line is 422', async () => {
    const lines = chatLines(4, 'ndidem');
    const post = (ls: unknown[]) =>
      fetch(`${stack.base}/batches?priority=2`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': 'nd-1' },
        body: ls.map((l) => JSON.stringify(l)).join('\n'),
      });
    const first = await post(lines);
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };
    const again = await post(lines);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    const changed = await post([...lines.slice(0, 3), { ...lines[3], body: { ...lines[3]!.body, temperature: 0 } }]);
    expect(changed.status).toBe(422);
    expect(((await changed.json()) as ErrorBody).error.code).toBe('idempotency_key_reused');
  });

  it('the official openai client sending the header twice gets one batch', async () => {
    const OpenAI = (await import('openai')).default;
    const openai = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'local' });
    const file = await openai.files.create({
      file: new File(
        [
          chatLines(3, 'v1idem')
            .map((l) => JSON.stringify(l))
            .join('\n'),
        ],
        'in.jsonl',
      ),
      purpose: 'batch',
    });
    const params = {
      input_file_id: file.id,
      endpoint: '/v1/chat/completions' as const,
      completion_window: '24h' as const,
    };
    const a = await openai.batches.create(params, { headers: { 'Idempotency-Key': 'v1-order-7' } });
    const b = await openai.batches.create(params, { headers: { 'Idempotency-Key': 'v1-order-7' } });
    expect(b.id).toBe(a.id);
    // Same key, other metadata: the official client raises UnprocessableEntityError (and does not retry a 422).
    await expect(
      openai.batches.create(
        { ...params, metadata: { llmbatch_priority: '1' } },
        { headers: { 'Idempotency-Key': 'v1-order-7' } },
      ),
    ).rejects.toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    const listed = await openai.batches.list({ limit: 100 });
    expect(listed.data.filter((x) => x.input_file_id === file.id)).toHaveLength(1);
  });
});
