/**
 * A live stack (src/cli/stack.ts, the processes `npm start` runs) holding batches in each state an operator
 * meets: running (two of tenant acme, one of tenant beta on another model), completed, failed, and completed
 * with dead letters (open for LLMBATCH_RETRY_GRACE). The runbook's test (test/operations/runbook.test.ts) runs
 * docs/runbook.md's commands against it, and `npm run screenshots` photographs its Web UI.
 * API keys mode with two tenants, so that filtering by tenant has something to tell apart; one lane, so that
 * the rate-limit commands change a lane's task queue rather than the default one.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/cli/apiClient';
import { startStack, type Stack } from '../src/cli/stack';
import { loadConfig } from '../src/config';
import { newApiKey } from '../src/shared/apiKeys';
import type { BatchLine } from '../src/shared/contracts';
import type { BatchStatus } from '../src/shared/statuses';
import type { BatchView } from '../src/shared/views';
import { freePort, simConfigure } from './stack';

export const SCENE_TENANTS = ['acme', 'beta'] as const;
export type SceneTenant = (typeof SCENE_TENANTS)[number];

/** The scene's batches by the part they play. */
export interface SceneBatches {
  /** acme, priority 2, gpt-4o-mini: the batch the runbook's commands act on. */
  running: string;
  /** acme, running: the runbook's cancel command ends it (the others go on). */
  toCancel: string;
  /** beta, priority 4, gpt-4o, running: another tenant's, which acme's filters must leave out. */
  otherTenant: string;
  completed: string;
  /** The provider refused the worker's key: failed fast. */
  failed: string;
  /** Every item dead-lettered (one attempt, all answered 500): completed, open for the retry grace. */
  deadLetters: string;
  /** Another such batch, for the Web UI's Send a Signal (the runbook's command retries the first). */
  deadLettersWebUi: string;
}
export type BatchRole = keyof SceneBatches;

export interface Scene {
  stack: Stack;
  api: string;
  webUi: string;
  temporalAddress: string;
  namespace: string;
  workerMetrics: string;
  /** The lane's task queue, where the chunks of gpt-4o-mini batches run. */
  laneQueue: string;
  /** The simulator's origin, for /_sim control calls. */
  simOrigin: string;
  keys: Record<SceneTenant, string>;
  batches: SceneBatches;
  client(tenant: SceneTenant): ApiClient;
  stop(): Promise<void>;
}

export const LANE_MODEL = 'gpt-4o-mini';
/** The running batches' provider latency: long enough that they outlast every runbook command. */
const RUNNING_LATENCY_MS = 1000;
const CHUNK_SIZE = 10;

/** `count` chat requests on `model`, each distinct (the response cache must not answer them). */
export function chatLines(count: number, model: string, tag: string): BatchLine[] {
  return Array.from({ length: count }, (_, i) => ({
    custom_id: `${tag}-${i}`,
    method: 'POST' as const,
    url: '/v1/chat/completions' as const,
    body: { model, max_tokens: 5, messages: [{ role: 'user', content: `${tag} request ${i}: say ok` }] },
  }));
}

async function sceneEnv(): Promise<{ env: Record<string, string>; keys: Record<SceneTenant, string> }> {
  const [temporal, ui, provider, api, metrics] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const acme = newApiKey();
  const beta = newApiKey();
  const tenants = [
    { id: 'acme', keys: [acme.digest], admin: true },
    { id: 'beta', keys: [beta.digest] },
  ];
  const env = {
    LLMBATCH_DATA_DIR: await mkdtemp(join(tmpdir(), 'llmbatch-ops-')),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TEMPORAL_UI_PORT: String(ui),
    PROVIDER_PORT: String(provider),
    API_PORT: String(api),
    API_HOST: '127.0.0.1',
    LLMBATCH_AUTH: 'keys',
    LLMBATCH_TENANTS: JSON.stringify(tenants),
    LLMBATCH_WORKER_METRICS_PORT: String(metrics),
    LLMBATCH_RETRY_GRACE: '1h',
    LLMBATCH_LANES: JSON.stringify([{ model: LANE_MODEL, rpm: 600_000 }]),
    LLMBATCH_CHUNK_SIZE: String(CHUNK_SIZE),
  };
  return { env, keys: { acme: acme.key, beta: beta.key } };
}

/** Polls the batch until its status is `status`; throws with the last view after `timeoutMs`. */
export async function waitForStatus(
  client: ApiClient,
  id: string,
  status: BatchStatus,
  timeoutMs = 30_000,
): Promise<BatchView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.json<BatchView>('GET', `/batches/${id}`);
    if (view.status === status) return view;
    if (Date.now() > deadline) throw new Error(`batch ${id} is ${view.status}, not ${status}: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Submit {
  requests: BatchLine[];
  priority?: number;
  options?: { maxAttempts?: number; maxChunksInFlight?: number; cache?: boolean };
}

const submit = async (client: ApiClient, body: Submit): Promise<string> =>
  (await client.json<{ id: string }>('POST', '/batches', { ...body, options: { cache: false, ...body.options } })).id;

/** The ended batches first, each with the simulator set to end it that way, then the running ones. */
async function makeBatches(acme: ApiClient, beta: ApiClient, simOrigin: string): Promise<SceneBatches> {
  const completed = await submit(acme, { requests: chatLines(5, LANE_MODEL, 'completed') });
  await waitForStatus(acme, completed, 'completed');

  await simConfigure(simOrigin, { errorRate: 1 });
  const oneAttempt = { maxAttempts: 1 };
  const [deadLetters, deadLettersWebUi] = await Promise.all([
    submit(acme, { requests: chatLines(5, LANE_MODEL, 'dead'), options: oneAttempt }),
    submit(acme, { requests: chatLines(5, LANE_MODEL, 'dead-ui'), options: oneAttempt }),
  ]);
  await Promise.all([deadLetters, deadLettersWebUi].map((id) => waitForStatus(acme, id, 'completed')));

  await simConfigure(simOrigin, { errorRate: 0, apiKey: 'sk-not-the-workers-key' });
  const failed = await submit(acme, { requests: chatLines(5, LANE_MODEL, 'failed') });
  await waitForStatus(acme, failed, 'failed');

  await simConfigure(simOrigin, { apiKey: null, latencyMedianMs: RUNNING_LATENCY_MS });
  // One chunk at a time of 10 items at 1 s each: 2,000 items take minutes, whatever the commands do.
  const slow = { maxChunksInFlight: 1 };
  const [running, toCancel, otherTenant] = await Promise.all([
    submit(acme, { requests: chatLines(2000, LANE_MODEL, 'running'), priority: 2, options: slow }),
    submit(acme, { requests: chatLines(2000, LANE_MODEL, 'cancel'), options: slow }),
    submit(beta, { requests: chatLines(2000, 'gpt-4o', 'beta'), priority: 4, options: slow }),
  ]);
  return { running, toCancel, otherTenant, completed, failed, deadLetters, deadLettersWebUi };
}

/**
 * Starts the stack and makes the batches. The children read their configuration from process.env, so the
 * scene's variables are set there for its lifetime and restored by stop().
 */
export async function startScene(log: (m: string) => void = () => {}): Promise<Scene> {
  const { env, keys } = await sceneEnv();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const restore = (): void => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  Object.assign(process.env, env);
  delete process.env.OPENAI_BASE_URL;
  delete process.env.OPENAI_API_KEY;
  const config = loadConfig(process.env);
  const stack = await startStack(config, { log }).catch((err: unknown) => {
    restore();
    throw err;
  });
  const stop = async (): Promise<void> => {
    await stack.stop();
    restore();
  };
  try {
    const client = (tenant: SceneTenant): ApiClient => new ApiClient(stack.urls.api, keys[tenant]);
    const simOrigin = `http://127.0.0.1:${env.PROVIDER_PORT}`;
    const batches = await makeBatches(client('acme'), client('beta'), simOrigin);
    return {
      stack,
      api: stack.urls.api,
      webUi: stack.urls.webUi,
      temporalAddress: config.temporal.address,
      namespace: config.temporal.namespace,
      workerMetrics: `http://127.0.0.1:${env.LLMBATCH_WORKER_METRICS_PORT}/metrics`,
      laneQueue: config.lanes[0]?.taskQueue ?? config.temporal.taskQueue,
      simOrigin,
      keys,
      batches,
      client,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
