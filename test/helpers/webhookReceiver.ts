/** A scripted webhook receiver on 127.0.0.1 that records every request and checks its signature. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** A status, a status with headers (a redirect's location, a Retry-After), or 'hang' (never answer). */
export type Answer = number | 'hang' | { status: number; location?: string; retryAfter?: string };

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified payload, or the verification error's message. */
  verified: unknown;
  verifyError?: string;
  answered: Answer;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export async function startReceiver(secret: string, script: (n: number, path: string) => Answer): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answered = script(received.length + 1, req.url ?? '');
      const entry: Received = { path: req.url ?? '', headers: req.headers, body, verified: undefined, answered };
      try {
        entry.verified = new Webhook(secret).verify(body, req.headers as Record<string, string>);
      } catch (err) {
        entry.verifyError = (err as Error).message;
      }
      received.push(entry);
      if (answered === 'hang') return; // keep the socket open; the sender's timeout must fire
      if (typeof answered === 'number') res.writeHead(answered).end('ok');
      else
        res
          .writeHead(answered.status, {
            ...(answered.location ? { location: answered.location } : {}),
            ...(answered.retryAfter ? { 'retry-after': answered.retryAfter } : {}),
          })
          .end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections(); // includes hung requests
        server.close(() => resolve());
      }),
  };
}
