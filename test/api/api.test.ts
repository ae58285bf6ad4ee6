/** The project API on a real dev server, worker and simulator. */
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import type { BatchLine } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

// A lane for the default model: these batches run their chunks on the lane's own queue and worker.
const stack = useApiStack({
  LLMBATCH_DEFAULT_MODEL: 'gpt-4o-mini',
  LLMBATCH_LANES: '[{"model":"gpt-4o-mini","rpm":60000},{"name":"bulk","model":"gpt-4o-mini","rpm":30000}]',
});

const post = (path: string, body: unknown) =>
  fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function waitForStatus(id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const progress = (await (await fetch(`${stack.base}/batches/${id}`)).json()) as Record<string, unknown>;
    if (progress.status !== 'running') return progress;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('project API', () => {
  it('creates a batch, reports progress and streams results and dead letters', async () => {
    // no model: the default applies
    const requests: BatchLine[] = chatLines(30).map((l) => ({ ...l, body: { messages: l.body.messages } }));
    requests.push({ custom_id: 'broken', method: 'POST', url: '/v1/chat/completions', body: { messages: [] } });
    const res = await post('/batches', { requests });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };

    expect(await waitForStatus(id)).toMatchObject({
      id,
      status: 'completed',
      total: 31,
      succeeded: 30,
      failed: 1,
      pending: 0,
      lane: { model: 'gpt-4o-mini', taskQueue: stack.config.lanes[0]?.taskQueue },
    });

    const all = (await (await fetch(`${stack.base}/batches/${id}/results`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(all).toHaveLength(31);
    expect(new Set(all.map((r) => r.custom_id)).size).toBe(31);
    expect(all.find((r) => r.custom_id === 'item-0').response.body.model).toBe('gpt-4o-mini');

    const dead = (await (await fetch(`${stack.base}/batches/${id}/results?status=failed`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead.map((r) => r.custom_id)).toEqual(['broken']);

    // An ended batch's progress comes from the store: it needs no Temporal (no query replaying the history,
    // and it outlives the workflow's retention). An app whose Temporal client always fails still answers.
    const unreachable = {
      workflow: {
        getHandle: () => {
          throw new Error('Temporal unreachable');
        },
      },
    } as unknown as Client;
    const offline = createApp({ client: unreachable, store: stack.store, config: stack.config }).listen(0, '127.0.0.1');
    await new Promise((r) => offline.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(offline.address() as AddressInfo).port}/batches/${id}`);
      expect(await res.json()).toMatchObject({ id, status: 'completed', succeeded: 30, failed: 1, pending: 0 });
    } finally {
      offline.close();
    }

    // An ended batch takes no more signals: 409, not a 404 that would say it does not exist.
    for (const [route, body] of [
      ['pause', {}],
      ['resume', {}],
      ['cancel', {}],
      ['priority', { priority: 1 }],
      ['concurrency', { maxChunksInFlight: 2 }],
    ] as const) {
      const ended = await post(`/batches/${id}/${route}`, body);
      expect([route, ended.status, ((await ended.json()) as { error: { code: string } }).error.code]).toEqual([
        route,
        409,
        'batch_ended',
      ]);
    }
  });

  it.each([
    [{ requests: [] }, 'requests'],
    [{ requests: 'nope' }, 'requests'],
    [{ requests: [{ ...chatLines(1)[0], method: 'GET' }] }, 'requests.0.method'],
    [{ requests: [{ ...chatLines(1)[0], url: '/v1/images' }] }, 'requests.0.url'],
    [{ requests: [{ ...chatLines(1)[0], custom_id: '' }] }, 'requests.0.custom_id'],
    [{ requests: [...chatLines(2), chatLines(1)[0]] }, 'requests.2.custom_id: duplicate of requests.0'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await post('/batches', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
  });

  it('pauses, reprioritises, changes concurrency and resumes a running batch', async () => {
    stack.sim.configure({ latencyMedianMs: 50, latencyP99Ms: 80 });
    try {
      const res = await post('/batches', {
        requests: chatLines(600, 'ctl'),
        priority: 2,
        options: { maxChunksInFlight: 2, maxAttempts: 3 },
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const progress = async () =>
        (await (await fetch(`${stack.base}/batches/${id}`)).json()) as Record<string, unknown>;
      expect(await progress()).toMatchObject({ priority: 2, maxChunksInFlight: 2 });

      expect((await post(`/batches/${id}/pause`, {})).status).toBe(202);
      expect((await progress()).status).toBe('paused');
      expect((await post(`/batches/${id}/priority`, { priority: 1 })).status).toBe(202);
      expect((await post(`/batches/${id}/concurrency`, { maxChunksInFlight: 4 })).status).toBe(202);
      expect(await progress()).toMatchObject({ status: 'paused', priority: 1, maxChunksInFlight: 4 });

      expect((await post(`/batches/${id}/resume`, {})).status).toBe(202);
      expect(await waitForStatus(id)).toMatchObject({ status: 'completed', succeeded: 600, pending: 0 });
    } finally {
      stack.sim.configure({ latencyMedianMs: 0, latencyP99Ms: 0 });
    }
  });

  it.each([
    ['/priority', { priority: 9 }, 'priority'],
    ['/priority', {}, 'priority'],
    ['/concurrency', { maxChunksInFlight: 0 }, 'maxChunksInFlight'],
  ])('answers 400 for POST %s %j naming %s', async (route, body, field) => {
    const res = await post(`/batches/00000000-0000-0000-0000-000000000000${route}`, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
  });

  it.each([
    [{ requests: chatLines(1), priority: 0 }, 'priority'],
    [{ requests: chatLines(1), options: { maxAttempts: 0 } }, 'options.maxAttempts'],
    [{ requests: chatLines(1), options: { retries: 3 } }, 'options'],
  ])('answers 400 for bad batch options %j naming %s', async (body, field) => {
    const res = await post('/batches', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
  });

  it('lists the default queue and each lane with the limit the server enforces', async () => {
    const { data } = (await (await fetch(`${stack.base}/lanes`)).json()) as { data: Array<Record<string, unknown>> };
    expect(data.map((l) => [l.name, l.taskQueue])).toEqual([
      [null, stack.config.temporal.taskQueue],
      [null, stack.config.lanes[0]?.taskQueue],
      ['bulk', `${stack.config.temporal.taskQueue}@lane@bulk`],
    ]);
    // 60,000 RPM in chunks of 100 items: 10 chunks/s, stated by the lane's worker.
    expect(data[1]).toMatchObject({
      model: 'gpt-4o-mini',
      startupLimits: { rpm: 60000, tpm: 0 },
      limit: { source: 'worker', chunksPerSecond: expect.closeTo(10, 3) },
    });
  });

  it('runs a batch on the named lane it asks for; refuses lines the lane is not for, and unknown lanes', async () => {
    const res = await post('/batches', { requests: chatLines(20), options: { lane: 'bulk' } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await waitForStatus(id)).toMatchObject({
      status: 'completed',
      succeeded: 20,
      lane: { name: 'bulk', taskQueue: `${stack.config.temporal.taskQueue}@lane@bulk` },
    });

    const other = chatLines(3).map((l, i) => (i === 2 ? { ...l, body: { ...l.body, model: 'gpt-4o' } } : l));
    const mismatch = await post('/batches', { requests: other, options: { lane: 'bulk' } });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { message: string; code: string } }).error).toMatchObject({
      code: 'lane_mismatch',
      message: expect.stringContaining('requests.2: /v1/chat/completions gpt-4o is not what lane bulk is for'),
    });
    const unknown = await post('/batches', { requests: chatLines(2), options: { lane: 'fast' } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_lane');

    // Its limit is set by name.
    const put = (body: unknown) =>
      fetch(`${stack.base}/lanes/limits`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const set = await put({ name: 'bulk', rpm: 12000 });
    expect(await set.json()).toMatchObject({ name: 'bulk', limit: { source: 'api' } });
    expect(await (await put({ name: 'bulk', rpm: null, tpm: null })).json()).toMatchObject({
      name: 'bulk',
      limit: { source: 'worker' },
    });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await fetch(`${stack.base}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"requests": [',
    });
    expect(res.status).toBe(400);
  });

  it('answers 404 for an unknown batch on every route', async () => {
    expect((await fetch(`${stack.base}/batches/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await fetch(`${stack.base}/batches/00000000-0000-0000-0000-000000000000/results`)).status).toBe(404);
    for (const action of ['cancel', 'pause', 'resume']) {
      expect((await post(`/batches/00000000-0000-0000-0000-000000000000/${action}`, {})).status).toBe(404);
    }
    expect((await post('/batches/00000000-0000-0000-0000-000000000000/priority', { priority: 1 })).status).toBe(404);
  });
});
