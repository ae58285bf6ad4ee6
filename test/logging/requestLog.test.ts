/**
 * The API's request log (pino-http in createApp): one line per request with method, route, path, status,
 * duration, request id and tenant; the request id taken from a sane `x-request-id` or generated, and echoed;
 * no headers and no bodies. The Temporal client is a fake that throws, so /lanes answers 500.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logging/logger';
import { FileBatchStore } from '../../src/storage/fileStore';
import { memoryLog } from '../helpers/logs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PLANTED = `PLANTED-${Math.random().toString(36).slice(2)}`;

const out = memoryLog();
let server: Server;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmbatch-requestlog-'));
  const config = loadConfig({ LLMBATCH_AUTH: 'local', LLMBATCH_DATA_DIR: dir });
  const client = {
    workflowService: new Proxy({}, { get: () => () => Promise.reject(new Error('no Temporal in this test')) }),
  } as unknown as Client;
  const logger = createLogger({ level: 'debug', name: 'api', destination: out });
  const app = createApp({ client, store: new FileBatchStore(dir), config, logger });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((ok) => server.close(ok)));

/** The request's line: the one carrying its request id and a status. */
async function request(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, init);
  await res.text();
  const id = res.headers.get('x-request-id');
  // The line is written when the response finishes, which may be just after the client has it.
  for (let i = 0; i < 50 && !out.lines.some((l) => l.requestId === id && l.status !== undefined); i++)
    await new Promise((r) => setTimeout(r, 10));
  const line = out.lines.find((l) => l.requestId === id && l.status !== undefined);
  return { res, id, line };
}

describe('request log', () => {
  it("takes the caller's x-request-id, echoes it, and logs the request (a probe: at debug)", async () => {
    const { res, id, line } = await request('/healthz', { headers: { 'x-request-id': 'trace-42.a:b_c' } });
    expect(res.status).toBe(200);
    expect(id).toBe('trace-42.a:b_c');
    expect(line).toMatchObject({ level: 20, method: 'GET', route: '/healthz', path: '/healthz', status: 200 });
    expect(typeof line?.durationMs).toBe('number');
    expect(line?.msg).toBe('GET /healthz 200');
  });

  it('generates a UUID when the caller sends none or one that is not a plain token', async () => {
    const none = await request('/healthz');
    expect(none.id).toMatch(UUID);
    expect(none.line?.requestId).toBe(none.id);
    for (const bad of ['has spaces', 'x'.repeat(129), 'semi;colon', '']) {
      const { id } = await request('/healthz', { headers: { 'x-request-id': bad } });
      expect(id).toMatch(UUID);
    }
    const twice = await Promise.all([request('/healthz'), request('/healthz')]);
    expect(twice[0].id).not.toBe(twice[1].id);
  });

  it('logs tenant, route pattern and status of a routed request, without its headers, query or body', async () => {
    const { res, line } = await request(`/batches?after=${PLANTED}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PLANTED}`, 'content-type': 'application/json', cookie: PLANTED },
      body: JSON.stringify({
        requests: [{ custom_id: 'a', body: { messages: [{ role: 'user', content: PLANTED }] } }],
      }),
    });
    expect(res.status).toBe(400);
    expect(line).toMatchObject({ level: 30, method: 'POST', route: '/batches', path: '/batches', status: 400 });
    expect(line?.tenant).toEqual(expect.any(String));
    expect(Object.keys(line ?? {}).sort()).toEqual(
      ['durationMs', 'hostname', 'level', 'method', 'msg', 'name', 'path', 'pid', 'requestId', 'route']
        .concat(['status', 'tenant', 'time'])
        .sort(),
    );
    expect(JSON.stringify(out.lines)).not.toContain(PLANTED);
  });

  it('logs a 500 at error, and the error with its stack and the request id', async () => {
    const { res, id, line } = await request('/lanes');
    expect(res.status).toBe(500);
    expect(line).toMatchObject({ level: 50, route: '/lanes', status: 500 });
    const error = out.lines.find((l) => l.requestId === id && l.msg === 'internal error');
    expect(error).toMatchObject({ level: 50, err: { message: 'no Temporal in this test' } });
    expect((error?.err as { stack?: string }).stack).toMatch(/\n\s+at /);
  });

  it('has no route for a request no route took, and the path', async () => {
    const { res, line } = await request('/no/such/route');
    expect(res.status).toBe(404);
    expect(line).toMatchObject({ method: 'GET', path: '/no/such/route', status: 404 });
    expect(line).not.toHaveProperty('route');
  });
});
