/** One dev server per test file, started from the resolved CLI binary with our server flags. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, type WorkflowBundlePath } from '@temporalio/worker';
import { resolveTemporalCli } from '../../src/devServer/binary';
import { devServerExtraArgs } from '../../src/devServer/serverArgs';
import { cachedWorkflowBundle } from '../../src/worker/bundleCache';

let runtimeInstalled = false;
/** Keep the SDK's logs to warnings so test output stays readable. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this module registry
  }
}

export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const cli = resolveTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable:
        cli.type === 'existing-path' ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      ip: '127.0.0.1',
      extraArgs: devServerExtraArgs(),
    },
  });
}

/** The workflows' bundle, made once for every suite and worker of a run (src/worker/bundleCache.ts). */
export async function bundleWorkflows(): Promise<WorkflowBundlePath> {
  return { codePath: await cachedWorkflowBundle(new DefaultLogger('WARN')) };
}
