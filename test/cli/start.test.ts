/**
 * `npm start` leaves nothing behind: the stack started as a user does, `npm start` in a terminal (a
 * pseudo-terminal from util-linux's `script`; npm -> sh -> tsx -> node, the terminal's foreground process
 * group), then stopped the ways a terminal or a process manager stops it: SIGINT, SIGTERM or SIGHUP to that
 * process group, or SIGKILL to the node process running src/cli/start.ts. When npm exits, `script` exits
 * and the terminal hangs up, as when a window is closed. Each time no process of that stack may be left
 * and its ports must be free. The same for `npm run demo`, whose terminal is closed while its batch runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { alive, commandLine, descendants, parentOf, portFree, stackEnv, stackPorts, waitFor } from './processTree';

const ROOT = resolve(__dirname, '..', '..');
const START = join('src', 'cli', 'start.ts');

/** Every `script` started and every process of its stack, to kill after each test whatever happened. */
const terminals: number[] = [];
const stackPids: number[] = [];

interface Started {
  /** `script`, which runs npm in a terminal of its own. */
  terminal: ChildProcess;
  /** npm, the leader of the terminal's foreground process group. */
  npm: number;
  env: NodeJS.ProcessEnv;
  /** Every process of the stack while it ran, npm included. */
  pids: number[];
  output: () => string;
}

/** `npm <script>` in a terminal of its own, once its output shows `ready`. */
async function npmRun(script: string, ready: string): Promise<Started> {
  const env = await stackEnv();
  // -e: script's exit status is npm's; -f: output as it comes. script starts npm in a new session on the
  // terminal, so npm leads the terminal's foreground process group, as a shell's job does.
  const terminal = spawn('script', ['-qfec', `npm ${script}`, '/dev/null'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  terminal.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  terminal.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  terminals.push(terminal.pid as number);
  const isReady = (): boolean => out.includes(ready);
  await waitFor(() => isReady() || terminal.exitCode !== null, 150_000);
  const up = isReady() && terminal.exitCode === null;
  expect({ up, output: up ? '' : out }).toEqual({ up: true, output: '' });
  const pids = descendants(terminal.pid as number);
  stackPids.push(...pids);
  const npm = pids.find((pid) => parentOf(pid) === terminal.pid) as number;
  expect(commandLine(npm)).toMatch(/npm/);
  return { terminal, npm, env, pids: [terminal.pid as number, ...pids], output: () => out };
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
  return left();
}

// Whatever the outcome, leave nothing for the next test (nor keep jest from exiting).
afterEach(() => {
  for (const pid of [...terminals.flatMap(descendants), ...terminals, ...stackPids].filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  terminals.length = 0;
  stackPids.length = 0;
});

describe('npm start stops every process it started', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'when its process group gets %s',
    async (signal) => {
      const started = await npmRun('start', 'Press Ctrl-C to stop.');
      // script, npm, sh, tsx, node, temporal, provider, worker, api
      expect(started.pids.length).toBeGreaterThanOrEqual(9);
      process.kill(-started.npm, signal);
      expect(await leftAfter(started, 30_000)).toEqual([]);
      // A clean stop, not the watchdog's: the worker finished its tasks before it went.
      const workerLog = readFileSync(join(started.env.LLMBATCH_DATA_DIR as string, 'logs', 'worker.log'), 'utf8');
      expect(workerLog).toContain('"state":"DRAINED"');
    },
    200_000,
  );

  it('when the node process running start.ts is killed with SIGKILL', async () => {
    const started = await npmRun('start', 'Press Ctrl-C to stop.');
    process.kill(startProcess(started.pids), 'SIGKILL');
    expect(await leftAfter(started, 30_000)).toEqual([]);
  }, 200_000);
});

describe('npm run demo stops every process it started', () => {
  it('when its terminal is closed (SIGHUP to its process group) while the batch runs', async () => {
    const started = await npmRun('run demo', 'review-sentiment requests');
    process.kill(-started.npm, 'SIGHUP');
    expect(await leftAfter(started, 30_000)).toEqual([]);
  }, 200_000);
});
