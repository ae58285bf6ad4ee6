/**
 * Batch events end to end: batches created through the API send signed webhooks (verified with the
 * `standardwebhooks` package) on completed, cancelled and paused-for-budget; a receiver that fails for
 * a while still gets the event; webhook URLs on private addresses are refused when the batch is created.
 */
import { useApiStack } from '../helpers/apiStack';
import { newSecret, startReceiver, type Answer, type Receiver } from '../helpers/webhookReceiver';

jest.setTimeout(120_000);

const secret = newSecret();
const stack = useApiStack({
  LLMBATCH_WEBHOOK_SECRET: secret,
  LLMBATCH_WEBHOOK_ALLOW: '127.0.0.1',
  LLMBATCH_CHUNK_SIZE: '10',
  // A dollar per token makes the budget easy to reach and to reason about.
  LLMBATCH_PRICES: JSON.stringify({ 'gpt-4o-mini': { input: 1_000_000, output: 1_000_000 } }),
});

/** Per path: how many requests it has had, and what to answer the n-th (500 for the first `failFirst`). */
const failures = new Map<string, number>();
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver(secret, (_n, path): Answer => {
    const left = failures.get(path) ?? 0;
    if (left > 0) {
      failures.set(path, left - 1);
      return 500;
    }
    return 200;
  });
});
afterAll(() => receiver.close());

const lines = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    custom_id: `${tag}-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `item ${i}` }] },
  }));

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function create(tag: string, n: number, options: Record<string, unknown>): Promise<string> {
  const res = await post('/batches', { requests: lines(n, tag), options });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The verified deliveries to a path, waiting until at least `count` arrived. */
async function deliveries(
  path: string,
  count: number,
  timeoutMs = 60_000,
): Promise<Array<{ type: string; timestamp: string; data: Record<string, unknown> }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = receiver.received.filter((r) => r.path === path && r.answered === 200);
    if (got.length >= count) {
      for (const r of got) expect(r.verifyError).toBeUndefined();
      return got.map((r) => r.verified as { type: string; timestamp: string; data: Record<string, unknown> });
    }
    if (Date.now() > deadline) throw new Error(`${path}: ${got.length} of ${count} deliveries after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function progress(
  id: string,
): Promise<{ status: string; pauseReason?: string; succeeded: number; total: number }> {
  return (await (await fetch(`${stack.base}/batches/${id}`)).json()) as {
    status: string;
    pauseReason?: string;
    succeeded: number;
    total: number;
  };
}

async function waitFor(
  id: string,
  ok: (p: Awaited<ReturnType<typeof progress>>) => boolean,
): Promise<Awaited<ReturnType<typeof progress>>> {
  for (let i = 0; i < 300; i++) {
    const p = await progress(id);
    if (ok(p)) return p;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`batch ${id} never reached the state`);
}

describe('batch webhooks', () => {
  it('sends a signed batch.completed with the counts, and the secret stays out of workflow history', async () => {
    const id = await create('done', 30, { webhook: { url: `${receiver.url}/done` } });
    const [event] = await deliveries('/done', 1);
    expect(event).toMatchObject({
      type: 'batch.completed',
      data: { id, status: 'completed', total: 30, succeeded: 30, failed: 0 },
    });
    const received = receiver.received.find((r) => r.path === '/done');
    expect(received?.headers['webhook-id']).toMatch(/^msg_/);
    const histories = await Promise.all(
      [`batch-${id}`, `batch-${id}-webhook-batch.completed`].map(async (wf) =>
        JSON.stringify(await stack.env.client.workflow.getHandle(wf).fetchHistory()),
      ),
    );
    for (const h of histories) expect(h).not.toContain(secret.slice('whsec_'.length));
  });

  it('keeps delivering while the receiver fails, and the event arrives once it answers 2xx', async () => {
    failures.set('/flaky', 2);
    const id = await create('flaky', 10, { webhook: { url: `${receiver.url}/flaky` } });
    const [event] = await deliveries('/flaky', 1);
    expect(event).toMatchObject({ type: 'batch.completed', data: { id } });
    const attempts = receiver.received.filter((r) => r.path === '/flaky');
    expect(attempts.map((r) => r.answered)).toEqual([500, 500, 200]);
    // One event: the same webhook-id on every attempt, so the receiver can deduplicate.
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('sends batch.cancelled for a cancelled batch', async () => {
    const id = await create('cancel', 200, { webhook: { url: `${receiver.url}/cancel` }, maxChunksInFlight: 1 });
    expect((await post(`/batches/${id}/cancel`, {})).status).toBe(202);
    const [event] = await deliveries('/cancel', 1);
    expect(event).toMatchObject({ type: 'batch.cancelled', data: { id, status: 'cancelled' } });
  });

  it('pauses a batch whose cost reaches its budget, says so by webhook, and resumes past it', async () => {
    const id = await create('budget', 100, {
      webhook: { url: `${receiver.url}/budget` },
      budgetUsd: 50,
      maxChunksInFlight: 1,
    });
    const paused = await waitFor(id, (p) => p.status === 'paused');
    expect(paused.pauseReason).toBe('budget');
    expect(paused.succeeded).toBeLessThan(100);
    const [pausedEvent] = await deliveries('/budget', 1);
    expect(pausedEvent).toMatchObject({
      type: 'batch.paused',
      data: { id, status: 'paused', reason: expect.stringContaining('budget of 50 USD') },
    });

    expect((await post(`/batches/${id}/resume`, {})).status).toBe(202);
    const done = await waitFor(id, (p) => p.status === 'completed');
    expect(done.succeeded).toBe(100);
    const events = await deliveries('/budget', 2);
    expect(events.map((e) => e.type)).toEqual(['batch.paused', 'batch.completed']);
  });

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data'],
    ['a private network address', 'http://10.0.0.7/hook'],
    ['IPv6 loopback', 'http://[::1]:8080/hook'],
    ['loopback in decimal', 'http://2130706434/hook'],
  ])('refuses a webhook on %s when the batch is created, and creates nothing', async (_what, url) => {
    const before = ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;
    const res = await post('/batches', { requests: lines(2, 'ssrf'), options: { webhook: { url } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string; code: string } }).error).toMatchObject({
      code: 'invalid_webhook_url',
      message: expect.stringContaining('webhook url refused'),
    });
    const after = ((await (await fetch(`${stack.base}/batches?limit=100`)).json()) as { data: unknown[] }).data.length;
    expect(after).toBe(before);
  });
});
