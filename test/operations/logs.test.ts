/**
 * The structured logs end to end: a real stack (Temporal dev server, the simulator with 10% 5xx and 5% malformed
 * answers and a required API key, a worker process and the API process, both at LLMBATCH_LOG_LEVEL=debug, the API
 * with API keys) runs a batch whose every prompt carries a planted text, submitted with a tenant key and against a
 * provider key that carry a planted secret; the batch is paused and resumed on the way. Then no log file of the
 * stack and nothing in the workflow's history holds either plant, while the logs do hold the lifecycle lines, the
 * chunk attempt and provider error lines, and the request lines with their request ids.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyDigest } from '../../src/shared/apiKeys';
import { batchWorkflowId, type BatchLine } from '../../src/shared/contracts';
import { chatCounts, sleep, useHarness } from '../durability/harness';
import { call, historyText, until, type CallOptions } from '../helpers/tenants';

const PROMPT = `PLANTED-PROMPT-${randomUUID()}`;
const SECRET = `PLANTED-SECRET-${randomUUID()}`;
const PROVIDER_KEY = `sk-${SECRET}-provider`;
const TENANT_KEY = `lb_${SECRET}-tenant`;
const LINES = 60;

const { h, markPassed } = useHarness({
  name: 'logs',
  // Latency keeps the batch running long enough to pause it; faults make provider error lines.
  sim: { apiKey: PROVIDER_KEY, errorRate: 0.1, malformedRate: 0.05, latencyMedianMs: 30, seed: 13 },
  workerEnv: {
    OPENAI_API_KEY: PROVIDER_KEY,
    LLMBATCH_TENANTS: JSON.stringify([{ id: 'acme', keys: [`sha256:${keyDigest(TENANT_KEY)}`] }]),
    LLMBATCH_LOG_LEVEL: 'debug',
    LLMBATCH_CHUNK_SIZE: '10',
    LLMBATCH_ITEM_CONCURRENCY: '2',
  },
});

type Line = Record<string, unknown>;

/** Every JSON line of every log file the harness wrote (worker, API, dev server), and the raw text. */
function readLogs(): { text: string; lines: Line[] } {
  const files = readdirSync(h.logDir).map((f) => join(h.logDir, f));
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('{"level"'))
    .map((l) => JSON.parse(l) as Line);
  return { text, lines };
}

const lines: BatchLine[] = Array.from({ length: LINES }, (_, i) => ({
  custom_id: `c-${i}`,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${PROMPT} ticket ${i}` }] },
}));

const as: CallOptions = { authorization: `Bearer ${TENANT_KEY}` };

/** Submits `n` planted lines as the tenant; resolves with the batch id. */
async function submit(base: string, tag: string, n: number, headers: Record<string, string> = {}): Promise<string> {
  const requests = lines.slice(0, n).map((l) => ({ ...l, custom_id: `${tag}-${l.custom_id}` }));
  const created = await call(base, 'POST', '/batches', { ...as, json: { requests }, headers });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function finished(base: string, id: string): Promise<unknown> {
  const done = await until(
    () => call(base, 'GET', `/batches/${id}`, as),
    (r) => r.body?.status !== 'running' && r.body?.status !== 'paused',
    `batch ${id} to finish`,
    30_000,
  );
  return done.body;
}

it('logs batch lifecycles, chunks, errors and requests, and never a prompt or a key', async () => {
  const { child: api, base } = await h.startApi({ LLMBATCH_AUTH: 'keys', LLMBATCH_LOG_LEVEL: 'debug' });
  // A: its first calls meet 10% 5xx and 5% malformed answers (chunk retries, provider error lines); the faults stop
  // once each item has been called, so that no item fails twice and waits out Temporal's growing backoff.
  const a = await submit(base, 'a', LINES, { 'x-request-id': 'logs-test-create' });
  await h.waitFor('every item of A called once', () => chatCounts(h.sim).all >= LINES, 20_000, 50);
  h.sim.configure({ errorRate: 0, malformedRate: 0 });
  expect(await finished(base, a)).toMatchObject({ status: 'completed', succeeded: LINES });
  // B: paused and resumed, slow enough to be running then; the faults are off, as a chunk attempt failing while a
  // pause cancels it fails the batch (the activity is not retried once a cancel is requested), not this test's topic.
  h.sim.configure({ latencyMedianMs: 300 });
  const b = await submit(base, 'b', 20);
  expect((await call(base, 'POST', `/batches/${b}/pause`, as)).status).toBeLessThan(300);
  await sleep(300);
  expect((await call(base, 'POST', `/batches/${b}/resume`, as)).status).toBeLessThan(300);
  expect(await finished(base, b)).toMatchObject({ status: 'completed', succeeded: 20 });

  // The store says completed once finishBatch has run; the workflow logs "batch finished" in the task after it, so
  // wait for the workflows' ends before the worker stops.
  const client = await h.client();
  await Promise.all([a, b].map((id) => client.workflow.getHandle(batchWorkflowId(id)).result()));
  const histories = await Promise.all([a, b].map((id) => historyText(client, batchWorkflowId(id))));
  await api.stop();
  await h.worker.stop();
  await sleep(200); // the children's log streams close after they exit
  const logs = readLogs();

  for (const plant of [PROMPT, SECRET]) {
    expect(logs.text).not.toContain(plant);
    for (const history of histories) expect(history.text).not.toContain(plant);
  }

  const of = (msg: string, id: string) => logs.lines.filter((l) => l.msg === msg && l.batchId === id);
  const lifecycle = { tenant: 'acme', mode: 'realtime' };
  for (const [id, msgs] of [
    [a, ['batch started', 'batch finished']],
    [b, ['batch started', 'batch paused', 'batch resumed', 'batch finished']],
  ] as const)
    for (const msg of msgs) expect(of(msg, id)[0]).toMatchObject({ ...lifecycle, workflowId: batchWorkflowId(id) });
  expect(of('batch finished', a)[0]).toMatchObject({ status: 'completed', total: LINES, succeeded: LINES });
  const attempts = of('chunk attempt', a);
  expect(attempts.length).toBeGreaterThan(LINES / 10); // 6 chunks, some more than once
  expect(attempts[0]).toMatchObject({ tenant: 'acme', chunk: expect.any(Number), attempt: expect.any(Number) });
  expect(attempts.some((l) => l.outcome === 'retry' && (l.attempt as number) === 1)).toBe(true);
  const errors = of('provider error', a);
  expect(errors.some((l) => l.kind === 'transient' && typeof l.status === 'number')).toBe(true);

  const request = logs.lines.find((l) => l.requestId === 'logs-test-create' && l.status === 201);
  expect(request).toMatchObject({ method: 'POST', route: '/batches', tenant: 'acme', name: 'api' });
  expect(logs.lines.some((l) => l.route === '/batches/:id/pause' && l.tenant === 'acme')).toBe(true);
  markPassed();
}, 60_000);
