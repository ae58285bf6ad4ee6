/** The machine and code a bench run measured: for the head of docs/benchmarks.md. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import { requireTemporalCliPath } from '../src/devServer/binary';
import { md } from './format';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  temporal: string;
  code: string;
  /** The PostgreSQL server the PostgreSQL stacks' databases were created on. */
  postgres?: string;
  /** Cores other processes kept busy in the 3 s before the run. */
  backgroundCores: number;
}

const commandOutput = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return 'unknown';
  }
};

export function machineInfo(): Omit<Machine, 'backgroundCores' | 'postgres'> {
  // Read-only git: --no-optional-locks keeps `status` from refreshing the index.
  const head = commandOutput('git', ['rev-parse', '--short', 'HEAD']).trim();
  // Porcelain lines are "XY path": two status columns (the first may be a space), a space, the path.
  const dirty = commandOutput('git', ['--no-optional-locks', 'status', '--porcelain', '--', 'src'])
    .split('\n')
    .filter(Boolean);
  const uncommitted = dirty.length
    ? `; src/ had uncommitted changes (measured as they were): ${dirty.map((l) => l.slice(3)).join(', ')}`
    : '';
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${type()} ${release()}`,
    temporal: commandOutput(requireTemporalCliPath(process.env), ['--version']).trim(),
    code: `commit ${head}${uncommitted}`,
  };
}

export function machineTable(m: Machine): string {
  return md(
    ['machine', ''],
    [
      ['CPU', `${m.cpu}, ${m.cores} cores`],
      ['memory', `${m.memoryGiB} GiB`],
      ['Node', m.node],
      ['OS', m.os],
      ['Temporal', `dev server (\`${m.temporal}\`), SQLite, started by \`startStack\` like \`npm start\``],
      ...(m.postgres
        ? [['PostgreSQL', `${m.postgres}, on the same machine; a fresh database per stack, dropped after`]]
        : []),
      ['code', m.code],
      [
        'other load',
        `${m.backgroundCores.toFixed(2)} cores busy in the 3 s before the run (each scenario's CPU table shows ` +
          'it during the run)',
      ],
    ],
  );
}
