/**
 * One API stack per test file: a dev server, the simulator, a worker (workflows, realtime and native
 * activities) and the Express app on a free port, started in beforeAll and stopped in afterAll.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createApp } from '../../src/api/app';
import type { Config } from '../../src/config';
import { startSimulator, type Simulator } from '../../src/provider';
import type { BatchStore } from '../../src/storage/types';
import type { WorkerGroup } from '../../src/worker/workerGroup';
import { testConfig, testWorker } from './stack';
import { bundleWorkflows, startDevServer } from './temporal';

export interface ApiStack {
  env: TestWorkflowEnvironment;
  sim: Simulator;
  config: Config;
  store: BatchStore;
  /** The API's origin, e.g. http://127.0.0.1:41234 */
  base: string;
}

/** Fields are filled in by beforeAll: read them inside tests and hooks, not at module load. */
export function useApiStack(extraEnv: NodeJS.ProcessEnv = {}): ApiStack {
  const stack = {} as ApiStack;
  let worker: WorkerGroup | undefined;
  let running: Promise<void> | undefined;
  let server: Server | undefined;

  beforeAll(async () => {
    const [env, bundle, sim] = await Promise.all([startDevServer(), bundleWorkflows(), startSimulator()]);
    Object.assign(stack, { env, sim });
    // Local mode unless a test brings its tenants and keys.
    stack.config = await testConfig(env, sim.url, { LLMBATCH_AUTH: 'local', ...extraEnv });
    const built = await testWorker(env, stack.config, bundle);
    worker = built.worker;
    stack.store = built.store;
    running = worker.run();
    const listening = createApp({ client: env.client, store: stack.store, config: stack.config }).listen(0, '127.0.0.1');
    server = listening;
    await new Promise((r) => listening.once('listening', r));
    stack.base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    server?.close();
    worker?.shutdown();
    await running;
    await stack.sim?.close();
    await stack.env?.teardown();
  });

  return stack;
}
