/**
 * `npm start` leaves nothing behind: the stack started as a user does (npm -> sh -> tsx -> node, in a
 * process group of its own, as a terminal or a process manager runs it), then stopped the ways a
 * terminal or a process manager stops it: SIGINT, SIGTERM or SIGHUP to the whole group, or SIGKILL to
 * the node process running src/cli/start.ts. Each time no process of that stack may be left and its
 * ports must be free.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { alive, commandLine, descendants, parentOf, portFree, stackEnv, stackPorts, waitFor } from './processTree';

const ROOT = resolve(__dirname, '..', '..');
const START = join('src', 'cli', 'start.ts');

interface Started {
  npm: ChildProcess;
  env: NodeJS.ProcessEnv;
  /** Every process of the stack while it ran, npm included. */
  pids: number[];
  output: () => string;
}

async function npmStart(): Promise<Started> {
  const env = await stackEnv();
  // detached: a process group of its own, led by npm, like a shell's job.
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ready = (): boolean => out.includes('Press Ctrl-C to stop.');
  await waitFor(() => ready() || npm.exitCode !== null, 150_000);
  const up = ready() && npm.exitCode === null;
  expect({ up, output: up ? '' : out }).toEqual({ up: true, output: '' });
  const pids = [npm.pid as number, ...descendants(npm.pid as number)];
  return { npm, env, pids, output: () => out };
}

/** The node process that runs start.ts (not npm's sh, nor tsx's own CLI process above it). */
function startProcess(pids: number[]): number {
  const running = pids.filter((pid) => commandLine(pid).includes(START));
  const deepest = running.filter((pid) => !running.some((other) => parentOf(other) === pid));
  expect(deepest).toHaveLength(1);
  return deepest[0] as number;
}

/** What is left of the stack after `ms`: live processes (pid and command) and busy ports. */
async function leftAfter(started: Started, ms: number): Promise<string[]> {
  const ports = stackPorts(started.env);
  const left = async (): Promise<string[]> => {
    const live = started.pids.filter(alive).map((pid) => `pid ${pid}: ${commandLine(pid).slice(0, 100)}`);
    const busy: string[] = [];
    for (const port of ports) if (!(await portFree(port))) busy.push(`port ${port} in use`);
    return [...live, ...busy];
  };
  await waitFor(async () => (await left()).length === 0, ms);
  const rest = await left();
  // Whatever the outcome, leave nothing for the next test.
  for (const pid of started.pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return rest;
}

describe('npm start stops every process it started', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'when its process group gets %s',
    async (signal) => {
      const started = await npmStart();
      expect(started.pids.length).toBeGreaterThanOrEqual(7); // npm, sh, tsx, node, temporal, provider, worker, api
      process.kill(-(started.npm.pid as number), signal);
      expect(await leftAfter(started, 30_000)).toEqual([]);
    },
    200_000,
  );

  it('when the node process running start.ts is killed with SIGKILL', async () => {
    const started = await npmStart();
    process.kill(startProcess(started.pids), 'SIGKILL');
    expect(await leftAfter(started, 30_000)).toEqual([]);
  }, 200_000);
});
