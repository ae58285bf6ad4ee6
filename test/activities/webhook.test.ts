/** deliverWebhook in a mock activity context against a real HTTP receiver on 127.0.0.1. */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createWebhookActivities, jitteredBackoffMs, type PinnedRequest } from '../../src/activities/webhook';
import type { LookupFn } from '../../src/webhooks/ssrf';
import {
  WEBHOOK_RETRY_INITIAL_MS,
  WEBHOOK_RETRY_MAX_INTERVAL_MS,
  type WebhookDeliveryInput,
} from '../../src/shared/webhooks';
import type { WebhookSettings } from '../../src/webhooks/settings';
import { newSecret, startReceiver, type Answer, type Receiver } from '../helpers/webhookReceiver';

const secret = newSecret();
/** Failed attempts are logged by the SDK; keep test output readable. */
const mockEnv = (attempt = 1) => new MockActivityEnvironment({ attempt }, { logger: new DefaultLogger('ERROR') });
const settings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  allow: ['127.0.0.1'],
  timeoutMs: 2_000,
  secretFor: (tenant) => (tenant === 'acme' ? secret : undefined),
  ...over,
});

let receiver: Receiver;
let answers: Answer[];
beforeEach(async () => {
  answers = [];
  receiver = await startReceiver(secret, (n) => answers[n - 1] ?? 200);
});
afterEach(() => receiver.close());

const input = (over: Partial<WebhookDeliveryInput> = {}): WebhookDeliveryInput => ({
  deliveryId: 'msg_b1_batch_completed',
  tenant: 'acme',
  url: `${receiver.url}/hooks/llmbatch?k=v`,
  event: 'batch.completed',
  occurredAt: new Date().toISOString(),
  data: { batchId: 'b1', status: 'completed', succeeded: 10, failed: 0 },
  ...over,
});

async function deliver(i: WebhookDeliveryInput, s = settings(), attempt = 1, lookup?: LookupFn) {
  return mockEnv(attempt).run(createWebhookActivities({ settings: s, lookup }).deliverWebhook, i);
}
async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect(f.message).not.toContain(secret.slice(6)); // never the secret
  return f;
}

/** The delay must lie in [base/2, base] for the retry policy's base = min(max, initial × 2^(attempt-1)). */
function expectJittered(delay: unknown, attempt: number, initialMs: number, maxIntervalMs: number): void {
  const base = Math.min(maxIntervalMs, initialMs * 2 ** (attempt - 1));
  expect(typeof delay).toBe('number');
  expect(delay).toBeGreaterThanOrEqual(Math.round(base / 2));
  expect(delay).toBeLessThanOrEqual(base);
}

describe('jitteredBackoffMs', () => {
  const policy = { initialMs: 5_000, maxIntervalMs: 3_600_000 };
  const almostOne = () => 1 - Number.EPSILON;

  it.each([
    [1, 2_500, 5_000],
    [2, 5_000, 10_000],
    [3, 10_000, 20_000],
    [5, 40_000, 80_000],
  ])('attempt %i waits between %i and %i ms (half to full backoff)', (attempt, low, high) => {
    expect(jitteredBackoffMs(attempt, policy, () => 0)).toBe(low);
    expect(jitteredBackoffMs(attempt, policy, almostOne)).toBe(high);
    expect(jitteredBackoffMs(attempt, policy, () => 0.5)).toBe((low + high) / 2);
  });

  it('is capped at maxIntervalMs, however many attempts', () => {
    for (const attempt of [11, 12, 50, 2_000]) {
      expect(jitteredBackoffMs(attempt, policy, () => 0)).toBe(1_800_000);
      expect(jitteredBackoffMs(attempt, policy, almostOne)).toBe(3_600_000);
    }
    expect(jitteredBackoffMs(4, { initialMs: 100, maxIntervalMs: 500 }, almostOne)).toBe(500);
  });

  it('rounds to whole milliseconds and never returns 0', () => {
    expect(jitteredBackoffMs(1, { initialMs: 3, maxIntervalMs: 1_000 }, () => 0.5)).toBe(2); // 2.25
    expect(jitteredBackoffMs(1, { initialMs: 1, maxIntervalMs: 1_000 }, () => 0)).toBe(1); // 0.5
    expect(jitteredBackoffMs(1, { initialMs: 0, maxIntervalMs: 1_000 }, () => 0)).toBe(1);
  });

  it('spreads retries that fail together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => jitteredBackoffMs(3, policy)));
    expect(delays.size).toBeGreaterThan(40);
    for (const d of delays) expectJittered(d, 3, policy.initialMs, policy.maxIntervalMs);
  });
});

describe('deliverWebhook', () => {
  it('POSTs the signed envelope; the receiver verifies it', async () => {
    const i = input();
    await expect(deliver(i)).resolves.toEqual({ status: 200, attempt: 1 });
    expect(receiver.received).toHaveLength(1);
    const [r] = receiver.received;
    expect(r!.path).toBe('/hooks/llmbatch?k=v');
    expect(r!.verifyError).toBeUndefined();
    expect(r!.verified).toEqual({ type: 'batch.completed', timestamp: i.occurredAt, data: i.data });
    expect(r!.headers).toMatchObject({
      'webhook-id': i.deliveryId,
      'content-type': 'application/json',
      host: `127.0.0.1:${receiver.port}`,
    });
  });

  it('an event hours old still verifies: webhook-timestamp is the attempt’s time, the id the delivery’s', async () => {
    const i = input({ occurredAt: new Date(Date.now() - 5 * 3_600_000).toISOString() });
    await deliver(i, settings(), 1);
    await deliver(i, settings(), 2);
    const [a, b] = receiver.received;
    expect(a!.verifyError).toBeUndefined();
    expect(b!.verifyError).toBeUndefined();
    expect(b!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
    expect(b!.body).toBe(a!.body);
    expect(Math.abs(Number(a!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('a non-2xx answer is a retryable WebhookDeliveryFailed carrying attempt and status', async () => {
    answers = [500];
    const f = await failure(deliver(input(), settings(), 3));
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('500');
    expect(f.message).not.toContain('k=v'); // no path or query in messages
    expect(f.details).toEqual([{ attempt: 3, status: 500 }]);
    // the workflow's defaults
    expectJittered(f.nextRetryDelay, 3, WEBHOOK_RETRY_INITIAL_MS, WEBHOOK_RETRY_MAX_INTERVAL_MS);
  });

  it('a retryable failure waits the jittered backoff of its attempt under input.retry', async () => {
    const retry = { initialMs: 1_000, maxIntervalMs: 10_000 };
    answers = [500, 500, 500, 500, 500]; // the receiver's nth request gets answers[n-1]
    for (const attempt of [1, 2, 4, 5, 9]) {
      const f = await failure(deliver(input({ retry }), settings(), attempt));
      expect(f.details).toEqual([{ attempt, status: 500 }]);
      expectJittered(f.nextRetryDelay, attempt, retry.initialMs, retry.maxIntervalMs);
    }
  });

  it('a 429 or 503 without a usable Retry-After waits the jittered backoff', async () => {
    answers = [429, { status: 503, retryAfter: 'soon' }];
    expectJittered(
      (await failure(deliver(input(), settings(), 2))).nextRetryDelay,
      2,
      WEBHOOK_RETRY_INITIAL_MS,
      WEBHOOK_RETRY_MAX_INTERVAL_MS,
    );
    expectJittered(
      (await failure(deliver(input(), settings(), 2))).nextRetryDelay,
      2,
      WEBHOOK_RETRY_INITIAL_MS,
      WEBHOOK_RETRY_MAX_INTERVAL_MS,
    );
  });

  it('a 410 Gone stops the retries: non-retryable WebhookGone', async () => {
    answers = [410];
    const f = await failure(deliver(input()));
    expect(f.type).toBe('WebhookGone');
    expect(f.nonRetryable).toBe(true);
    expect(f.nextRetryDelay).toBeUndefined(); // non-retryable failures set no wait
  });

  it.each([
    [429, '7', 7_000],
    [503, '86400', 3_600_000], // capped at the retry policy's longest wait
    [429, 'HTTP date', 30_000],
  ])('a %i with Retry-After %s waits that long before the next attempt', async (status, header, ms) => {
    // The date is made here, not when the table is: time spent on earlier tests would count against it.
    const retryAfter = header === 'HTTP date' ? new Date(Date.now() + ms).toUTCString() : header;
    answers = [{ status, retryAfter }];
    const f = await failure(deliver(input()));
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.nonRetryable).toBe(false);
    expect(Math.abs(Number(f.nextRetryDelay) - ms)).toBeLessThanOrEqual(1_000); // an HTTP date has whole seconds
  });

  it('a 500 with Retry-After keeps the (jittered) backoff: only 429 and 503 ask for a wait', async () => {
    answers = [{ status: 500, retryAfter: '7' }];
    const retry = { initialMs: 100_000, maxIntervalMs: 200_000 }; // far from 7 s, so the two cannot be confused
    expectJittered((await failure(deliver(input({ retry })))).nextRetryDelay, 1, retry.initialMs, retry.maxIntervalMs);
  });

  it('does not follow a redirect', async () => {
    answers = [{ status: 302, location: '/elsewhere' }];
    const f = await failure(deliver(input()));
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.message).toContain('302');
    expect(receiver.received.map((r) => r.path)).toEqual(['/hooks/llmbatch?k=v']);
  });

  it('times out after settings.timeoutMs (retryable)', async () => {
    answers = ['hang'];
    const started = Date.now();
    const f = await failure(deliver(input(), settings({ timeoutMs: 200 })));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('no response within 200 ms');
    expectJittered(f.nextRetryDelay, 1, WEBHOOK_RETRY_INITIAL_MS, WEBHOOK_RETRY_MAX_INTERVAL_MS);
  });

  it('a connection error is retryable', async () => {
    const url = `${receiver.url}/x`;
    await receiver.close();
    const f = await failure(deliver(input({ url })));
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('ECONNREFUSED');
    expectJittered(f.nextRetryDelay, 1, WEBHOOK_RETRY_INITIAL_MS, WEBHOOK_RETRY_MAX_INTERVAL_MS);
    receiver = await startReceiver(secret, () => 200); // for afterEach
  });

  it('a DNS resolution failure is retryable, after the jittered backoff', async () => {
    const lookup: LookupFn = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND receiver.test'), { code: 'ENOTFOUND' });
    };
    const f = await failure(
      deliver(input({ url: 'https://receiver.test/hook', retry: { initialMs: 200 } }), settings(), 3, lookup),
    );
    expect(f.type).toBe('WebhookDeliveryFailed');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('could not resolve');
    expect(f.details).toEqual([{ attempt: 3 }]);
    expectJittered(f.nextRetryDelay, 3, 200, WEBHOOK_RETRY_MAX_INTERVAL_MS);
  });

  it('refuses a private address at delivery time: non-retryable WebhookRefused, nothing sent', async () => {
    const f = await failure(deliver(input(), settings({ allow: [] })));
    expect(f.type).toBe('WebhookRefused');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('loopback');
    const meta = await failure(deliver(input({ url: 'http://169.254.169.254/latest/meta-data/' })));
    expect(meta.type).toBe('WebhookRefused');
    expect(receiver.received).toHaveLength(0);
  });

  it('a tenant without a (valid) secret gets WebhookNoSecret, and the secret is never echoed', async () => {
    const none = await failure(deliver(input({ tenant: 'other' })));
    expect(none.type).toBe('WebhookNoSecret');
    expect(none.nonRetryable).toBe(true);
    const bad = await failure(deliver(input(), settings({ secretFor: () => 'whsec_s3cr3t!!' })));
    expect(bad.type).toBe('WebhookNoSecret');
    expect(bad.message).not.toContain('s3cr3t');
    expect(receiver.received).toHaveLength(0);
  });

  it('a delivery id with a dot is a non-retryable WebhookInvalid', async () => {
    const f = await failure(deliver(input({ deliveryId: 'batch-b1-webhook-batch.completed' })));
    expect(f.type).toBe('WebhookInvalid');
    expect(f.nonRetryable).toBe(true);
  });

  it('connects to the checked address, keeping the Host header (DNS is asked once, by the check)', async () => {
    // `.test` never resolves in real DNS: delivery works only if the socket uses the checked address.
    const asked: string[] = [];
    const lookup: LookupFn = async (host) => {
      asked.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const url = `http://receiver.test:${receiver.port}/hook`;
    await expect(deliver(input({ url }), settings({ allow: ['receiver.test'] }), 1, lookup)).resolves.toMatchObject({
      status: 200,
    });
    expect(asked).toEqual(['receiver.test']);
    expect(receiver.received[0]!.headers.host).toBe(`receiver.test:${receiver.port}`);
    expect(receiver.received[0]!.verifyError).toBeUndefined();
  });

  it('hands the transport only checked addresses (injected fetchImpl)', async () => {
    const seen: PinnedRequest[] = [];
    const lookup: LookupFn = async () => [{ address: '93.184.216.34', family: 4 }];
    const activities = createWebhookActivities({
      settings: settings(),
      lookup,
      fetchImpl: async (req) => (seen.push(req), { status: 204 }),
    });
    await expect(
      mockEnv().run(activities.deliverWebhook, input({ url: 'https://hooks.example.com/x' })),
    ).resolves.toMatchObject({ status: 204 });
    expect(seen[0]!.addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(seen[0]!.timeoutMs).toBe(2_000);
  });
});
