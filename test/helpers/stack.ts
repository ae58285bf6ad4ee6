/** Builds config, store and worker for tests that run batches on a real dev server. */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundlePath } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';
import { FileResponseCache } from '../../src/storage/fileCache';
import { FileBatchStore } from '../../src/storage/fileStore';
import { createWorker } from '../../src/worker/createWorker';

export async function testConfig(
  env: TestWorkflowEnvironment,
  providerUrl: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<Config> {
  return loadConfig({
    LLMBATCH_DATA_DIR: await mkdtemp(join(tmpdir(), 'llmbatch-test-')),
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    OPENAI_BASE_URL: providerUrl,
    OPENAI_API_KEY: 'sk-test',
    ...extra,
  });
}

export async function testWorker(env: TestWorkflowEnvironment, config: Config, workflowBundle: WorkflowBundlePath) {
  const store = new FileBatchStore(config.dataDir);
  const worker = await createWorker({
    connection: env.nativeConnection,
    config,
    store,
    cache: new FileResponseCache(config.dataDir),
    workflowBundle,
  });
  return { worker, store };
}
