/**
 * The worker's provider fetch (node:http, keep-alive) behaves like the built-in fetch wherever the
 * `openai` client or the chunk activity can tell: answers, headers, errors, aborts, timeouts,
 * compressed bodies, redirects, and bodies it does not handle itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { classifyError } from '../../src/activities/errors';
import { providerFetch } from '../../src/worker/providerFetch';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const sockets = new Set<Socket>();
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', (s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((ok) => server.close(ok));
});

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

const client = (timeout = 10_000) =>
  new OpenAI({
    baseURL: `${base}/v1`,
    apiKey: 'sk-test',
    maxRetries: 0,
    timeout,
    fetch: providerFetch({ maxSockets: 8 }),
  });

describe('providerFetch', () => {
  it('posts the body and headers as fetch would, and answers with status, headers and the parsed body', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    handler = (req, body, res) => {
      seen = {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body,
      };
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      json(res, 200, { ok: true }, { 'x-request-id': 'req_1', 'x-ratelimit-limit-requests': '3000' });
    };
    const { data, response } = await client()
      .post<{ ok: boolean }>('/chat/completions', { body: { model: 'm', messages: [] } })
      .withResponse();
    expect(data).toEqual({ ok: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3000');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(seen).toEqual({
      method: 'POST',
      url: '/v1/chat/completions',
      auth: 'Bearer sk-test',
      type: 'application/json',
      body: '{"model":"m","messages":[]}',
    });
  });

  it('keeps connections open between requests', async () => {
    handler = (_req, _body, res) => json(res, 200, {});
    const c = client();
    await c.post('/x', { body: {} });
    const before = connections;
    for (let i = 0; i < 5; i++) await c.post('/x', { body: {} });
    expect(connections).toBe(before);
  });

  it('turns error statuses into the client’s APIError, with the headers the lanes read', async () => {
    handler = (_req, _body, res) =>
      json(
        res,
        429,
        { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after': '2' },
      );
    const err = (await client()
      .post('/x', { body: {} })
      .catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(429);
    expect(classifyError(err)).toMatchObject({ kind: 'transient', status: 429, retryAfterMs: 2000 });
  });

  it('decodes a gzip answer', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ zipped: true })));
    };
    expect(await client().post('/x', { body: {} })).toEqual({ zipped: true });
  });

  it('follows a redirect as fetch does', async () => {
    handler = (req, body, res) => {
      if (req.url === '/v1/old') {
        res.writeHead(307, { location: `${base}/v1/new` });
        return res.end();
      }
      json(res, 200, { url: req.url, body });
    };
    expect(await client().post('/old', { body: { a: 1 } })).toEqual({ url: '/v1/new', body: '{"a":1}' });
  });

  it('reports the client’s timeout as a timeout, and a caller’s abort as an abort', async () => {
    handler = () => undefined; // never answers
    await expect(client(200).post('/x', { body: {} })).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    const controller = new AbortController();
    const call = client().post('/x', { body: {}, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
  });

  it('rejects an answer cut off mid-body, and a refused connection, as connection errors (transient)', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const cut = await client()
      .post('/x', { body: {} })
      .catch((e: unknown) => e);
    expect(classifyError(cut).kind).toBe('transient');

    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const refused = new OpenAI({
      baseURL: `http://127.0.0.1:${port}/v1`,
      apiKey: 'k',
      maxRetries: 0,
      fetch: providerFetch({ maxSockets: 1 }),
    });
    const err = await refused.post('/x', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(classifyError(err).kind).toBe('transient');
  });

  it('hands bodies it does not send itself (streams, forms) to the built-in fetch', async () => {
    handler = (req, body, res) => json(res, 200, { type: req.headers['content-type'], body });
    const f = providerFetch({ maxSockets: 1 });
    const res = await f(`${base}/form`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    expect(await res.json()).toEqual({ type: 'application/x-www-form-urlencoded;charset=UTF-8', body: 'a=1' });
  });
});
