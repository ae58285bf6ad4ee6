/**
 * The `fetch` the worker's `openai` client calls providers with: node:http(s) on a keep-alive agent,
 * the whole answer read into one buffer, then handed to the client as a standard `Response`.
 *
 * Why: at zero provider latency the worker's CPU per request is mostly the HTTP client. Node's
 * built-in fetch (undici's WHATWG fetch: Request objects, header lists, web streams that are made
 * transferable, a fetch controller per call) cost about 0.55 ms of CPU per chat completion against the
 * simulator; this path costs about 0.27 ms (both measured through the same `openai` client, see
 * docs/overhead.md). Connections stay open between requests either way.
 *
 * Kept the same as fetch where the client or the activities can tell:
 *  - aborts (the client's timeout, a cancelled activity) reject with an `AbortError`, as fetch does,
 *    so the client reports a timeout as APIConnectionTimeoutError and a cancel as APIUserAbortError;
 *  - network errors reject (the client makes them APIConnectionError: transient);
 *  - gzip, deflate and br answers are asked for and decoded, as fetch does;
 *  - a redirect, a body that is not a string or bytes (streams, FormData, Blobs: native mode's file
 *    uploads) or a URL that is not http(s) goes through the built-in fetch unchanged.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** A free connection the server gave no keep-alive hint for is closed after this long (undici's default). */
const IDLE_MS = 4000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses whose Response must have a null body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

const decoders: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/**
 * Node's agent keeps a free socket open for as long as the server's `Keep-Alive: timeout=` hint allows
 * (less a second); without a hint, forever. This closes hint-less free sockets after IDLE_MS, so a
 * request rarely meets a connection the server has just closed.
 */
function idleClosing<A extends http.Agent>(agent: A): A {
  // Node returns whether the socket may be kept (its types say void).
  const keep = agent.keepSocketAlive.bind(agent) as unknown as (socket: Socket) => boolean;
  const keepIdleClosing = (socket: Socket): boolean => {
    const ok = keep(socket);
    if (ok && socket.timeout === 0) socket.setTimeout(IDLE_MS);
    return ok;
  };
  agent.keepSocketAlive = keepIdleClosing;
  return agent;
}

/** What fetch rejects with: the signal's reason (an AbortError DOMException unless the aborter gave one). */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  // A reason from another realm (a DOMException under jest's vm)
  // or not an Error at all: keep the name the client looks for.
  const err = new Error('This operation was aborted', { cause: reason });
  err.name = 'AbortError';
  return err;
}

function requestHeaders(init: RequestInit): Record<string, string> {
  const out: Record<string, string> = {};
  const h = init.headers;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (h) new Headers(h).forEach((v, k) => (out[k] = v));
  if (!('accept-encoding' in out)) out['accept-encoding'] = 'gzip, deflate, br';
  return out;
}

export interface ProviderFetchOptions {
  /** Connections per origin at most (the worker's cap on requests in flight). */
  maxSockets: number;
}

export function providerFetch(options: ProviderFetchOptions): typeof fetch {
  const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' };
  const agents = {
    'http:': idleClosing(new http.Agent(agentOptions)),
    'https:': idleClosing(new https.Agent(agentOptions)),
  };

  const fetchFn = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
    const simple = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    const scheme = url?.startsWith('https:') ? 'https:' : url?.startsWith('http:') ? 'http:' : undefined;
    if (!url || !scheme || !simple || init.redirect === 'manual' || init.redirect === 'error')
      return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal));

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(abortError(signal as AbortSignal));
      const client = scheme === 'https:' ? https : http;
      const req = client.request(
        url,
        { method: init.method ?? 'GET', headers: requestHeaders(init), agent: agents[scheme] },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('close', () => {
            if (!res.complete) fail(new Error('the provider closed the connection before the answer was complete'));
          });
          res.on('end', () => {
            if (settled) return;
            const status = res.statusCode ?? 0;
            if (REDIRECTS.has(status) && res.headers.location) {
              // Rare for an API: let fetch follow it exactly as it would have
              // (the body is a string or bytes, so it can be sent again).
              settled = true;
              signal?.removeEventListener('abort', onAbort);
              fetch(input, init).then(resolve, reject);
              return;
            }
            const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            const encoding = res.headers['content-encoding']?.trim().toLowerCase();
            const decode = encoding ? decoders[encoding] : undefined;
            (decode && raw.length > 0 ? decode(raw) : Promise.resolve(raw)).then((bytes) => {
              if (settled) return;
              settled = true;
              signal?.removeEventListener('abort', onAbort);
              try {
                resolve(toResponse(status, res.statusMessage, res.rawHeaders, bytes));
              } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
              }
            }, fail);
          });
        },
      );
      req.on('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body ?? undefined);
    });
  };
  return fetchFn;
}

function toResponse(status: number, statusText: string | undefined, rawHeaders: string[], bytes: Buffer): Response {
  const headers = new Headers();
  for (let i = 0; i < rawHeaders.length; i += 2) headers.append(rawHeaders[i] as string, rawHeaders[i + 1] as string);
  const body = NULL_BODY.has(status) || bytes.length === 0 ? null : bytes;
  try {
    return new Response(body, { status, statusText, headers });
  } catch {
    // A reason phrase fetch would not accept: the status is what counts.
    return new Response(body, { status, headers });
  }
}
