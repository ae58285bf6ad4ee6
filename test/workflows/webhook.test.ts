/** webhookWorkflow on a real dev server: Temporal's retries carry a delivery through failures, and give up cleanly. */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundlePath } from '@temporalio/worker';
import { createWebhookActivities } from '../../src/activities/webhook';
import { webhookDeliveryId, webhookWorkflowId, type WebhookDeliveryInput } from '../../src/shared/webhooks';
import type { WebhookSettings } from '../../src/webhooks/settings';
import { webhookWorkflow } from '../../src/workflows/webhook';
import { bundleWorkflows, startDevServer } from '../helpers/temporal';
import { newSecret, startReceiver, type Answer, type Receiver } from '../helpers/webhookReceiver';

jest.setTimeout(180_000);

const secret = newSecret();
const taskQueue = `webhooks-${randomUUID()}`;
const settings: WebhookSettings = {
  allow: ['127.0.0.1'],
  timeoutMs: 300,
  secretFor: (t) => (t === 'acme' ? secret : undefined),
};
const fast = { initialMs: 100, maxIntervalMs: 500 };

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const receivers: Receiver[] = [];

beforeAll(async () => {
  let bundle: WorkflowBundlePath;
  [env, bundle] = await Promise.all([startDevServer(), bundleWorkflows()]);
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createWebhookActivities({ settings }),
  });
  running = worker.run();
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
});

async function receiver(script: (n: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(secret, script);
  receivers.push(r);
  return r;
}

function input(url: string, over: Partial<WebhookDeliveryInput> = {}): WebhookDeliveryInput {
  const batchId = randomUUID();
  return {
    deliveryId: webhookDeliveryId(batchId, 'batch.completed'),
    tenant: 'acme',
    url,
    event: 'batch.completed',
    occurredAt: new Date().toISOString(),
    data: { batchId, status: 'completed', total: 2, succeeded: 2, failed: 0, costUsd: 0.01 },
    retry: fast,
    ...over,
  };
}

async function run(i: WebhookDeliveryInput) {
  const workflowId = webhookWorkflowId(String(i.data.batchId), i.event);
  const result = await env.client.workflow.execute(webhookWorkflow, { workflowId, taskQueue, args: [i] });
  const status = (await env.client.workflow.getHandle(workflowId).describe()).status.name;
  return { result, status };
}

describe('webhookWorkflow', () => {
  it('retries through 500s and a hang, then delivers once, with one id and valid signatures throughout', async () => {
    const script: Answer[] = [500, 'hang', 500, 503];
    const r = await receiver((n) => script[n - 1] ?? 200);
    const i = input(`${r.url}/hook`);
    const { result, status } = await run(i);

    expect(status).toBe('COMPLETED');
    expect(result).toEqual({ delivered: true, attempts: 5, status: 200 });
    expect(r.received.map((x) => x.answered)).toEqual([...script, 200]);
    expect(r.received.filter((x) => x.answered === 200)).toHaveLength(1);
    expect(new Set(r.received.map((x) => x.headers['webhook-id']))).toEqual(new Set([i.deliveryId]));
    expect(r.received.map((x) => x.verifyError)).toEqual(r.received.map(() => undefined));
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
  });

  it('gives up after maxHours and completes with delivered:false instead of failing', async () => {
    const r = await receiver(() => 500);
    const { result, status } = await run(input(`${r.url}/hook`, { retry: { ...fast, maxHours: 0.001 } })); // 3.6 s
    expect(status).toBe('COMPLETED');
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBeGreaterThanOrEqual(3);
    expect(result.attempts).toBe(r.received.length);
    expect(result.status).toBe(500);
    expect(result.error).toContain('answered 500');
  });

  it('stops at once on a refused URL (non-retryable), reporting why', async () => {
    const { result, status } = await run(input('http://169.254.169.254/latest/meta-data/'));
    expect(status).toBe('COMPLETED');
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
    expect(result.error).toContain('linkLocal');
  });
});
