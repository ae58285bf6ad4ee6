/**
 * One API stack per test file: a dev server, the simulator, a worker (workflows, realtime and native
 * activities) and the Express app on a free port, started in beforeAll and stopped in afterAll.
 * The data plane is the file store, or PostgreSQL (a fresh database) in a file that calls
 * `onPostgres()` before loading the suite: the same tests, run on both.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createApp } from '../../src/api/app';
import type { Config } from '../../src/config';
import { startSimulator, type Simulator } from '../../src/provider';
import { openStorage, type Storage } from '../../src/storage/open';
import type { BatchStore } from '../../src/storage/types';
import { createWorker } from '../../src/worker/createWorker';
import type { WorkerGroup } from '../../src/worker/workerGroup';
import { createTestDatabase, type TestDatabase } from './postgres';
import { testConfig } from './stack';
import { bundleWorkflows, startDevServer } from './temporal';

export interface ApiStack {
  env: TestWorkflowEnvironment;
  sim: Simulator;
  config: Config;
  store: BatchStore;
  storage: Storage;
  /** The API's origin, e.g. http://127.0.0.1:41234 */
  base: string;
}

let postgres = false;
/** The data plane of each stack this test file opened. */
const opened: Array<Storage['kind']> = [];

export const openedStores = (): ReadonlyArray<Storage['kind']> => opened;

/** Stacks made from now on in this test file keep their data in PostgreSQL. */
export function onPostgres(): void {
  postgres = true;
}

/** Fields are filled in by beforeAll: read them inside tests and hooks, not at module load. */
export function useApiStack(extraEnv: NodeJS.ProcessEnv = {}): ApiStack {
  const stack = {} as ApiStack;
  const withPostgres = postgres;
  let db: TestDatabase | undefined;
  let worker: WorkerGroup | undefined;
  let running: Promise<void> | undefined;
  let server: Server | undefined;

  beforeAll(async () => {
    const [env, bundle, sim] = await Promise.all([startDevServer(), bundleWorkflows(), startSimulator()]);
    Object.assign(stack, { env, sim });
    if (withPostgres) db = await createTestDatabase();
    // Local mode unless a test brings its tenants and keys.
    stack.config = await testConfig(env, sim.url, {
      LLMBATCH_AUTH: 'local',
      ...(db ? { DATABASE_URL: db.url } : {}),
      ...extraEnv,
    });
    stack.storage = await openStorage(stack.config);
    stack.store = stack.storage.store;
    opened.push(stack.storage.kind);
    const { store, cache, files, slots, checkDatabase, requests } = stack.storage;
    worker = await createWorker({
      connection: env.nativeConnection,
      config: stack.config,
      store,
      cache,
      files,
      requests,
      slots,
      workflowBundle: bundle,
    });
    running = worker.run();
    const listening = createApp({
      client: env.client,
      store,
      files,
      slots,
      requests,
      checkDatabase,
      config: stack.config,
    }).listen(0, '127.0.0.1');
    server = listening;
    await new Promise((r) => listening.once('listening', r));
    stack.base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    server?.close();
    worker?.shutdown();
    await running;
    await stack.storage?.close();
    await db?.drop();
    await stack.sim?.close();
    await stack.env?.teardown();
  });

  return stack;
}
